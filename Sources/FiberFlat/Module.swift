// Module FiberFlat: see the files of this folder.
