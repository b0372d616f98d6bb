// Module StdStars: see the files of this folder.
