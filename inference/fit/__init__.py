"""Model-based refinement: the articulated hand model fitted to the observed depth."""
