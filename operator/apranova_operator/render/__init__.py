"""Pure renderers: (enrollment, track, settings) to desired Kubernetes objects and status."""
