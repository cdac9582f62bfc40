"""Evaluation metrics: pure functions on feature arrays and images (float64 where it matters).

FID and KID keep their usual names; with ganjax's own feature network (``features.py``)
they are Fréchet and kernel distances in that network's feature space, not Inception's.
"""

from ganjax.metrics.fid import (feature_statistics, frechet_distance, frechet_distance_infinity,
                                frechet_distance_of)
from ganjax.metrics.kid import kernel_distance, kernel_inception_distance, mmd2_unbiased
from ganjax.metrics.prd import density_coverage, knn_radii, precision_recall
from ganjax.metrics.scores import (classifier_score, inception_score, laplacian, mode_coverage,
                                   sharpness)

__all__ = [
    "feature_statistics", "frechet_distance", "frechet_distance_infinity", "frechet_distance_of",
    "inception_score", "kernel_distance",
    "kernel_inception_distance", "mmd2_unbiased", "density_coverage", "knn_radii",
    "precision_recall", "classifier_score", "laplacian", "mode_coverage", "sharpness",
]
