"""Core types and plain helpers every role uses: errors, camera geometry, the skeleton, frames and poses,
project paths, safe output files, progress bars, gesture names. Imports no other part of inference."""
