// Module FluxCalib: see the files of this folder.
