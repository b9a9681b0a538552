"""Datasets: procedural SynthBirds (``synthbirds``, ``render``, ``captions``) and loaders for
Reed's real-data formats (cvpr2016 text_c10 layout, icml2016 .t7 files, hdf5), all served as
one index and one torch ``Dataset`` (see CONTRIBUTING.md, "Data")."""
