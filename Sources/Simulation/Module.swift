// Module Simulation: see the files of this folder.
