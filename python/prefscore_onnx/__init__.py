"""Tools for ONNX exports that prefscore runs (see docs/deploy.md#model-exports)."""
