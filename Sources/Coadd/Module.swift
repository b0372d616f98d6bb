// Module Coadd: see the files of this folder.
