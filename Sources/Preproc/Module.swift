// Module Preproc: see the files of this folder.
