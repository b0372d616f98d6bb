// Module Sky: see the files of this folder.
