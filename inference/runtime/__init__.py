"""The per-frame path: model metadata and estimators, the pipeline (segment -> crop -> network -> fit
-> smooth -> gesture), One Euro smoothing, gestures and the threaded tracker."""
