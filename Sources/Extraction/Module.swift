// Module Extraction: see the files of this folder.
