"""The compute core: image I/O, data sets, model, training, evaluation, explanations, model files.

Nothing in this package imports Qt; the GUI and the CLI are thin layers over it. Modules are
imported explicitly (``from pneumo_desktop.core.predict import predict_files``) so that the
prediction path does not pay for pandas, matplotlib or torchmetrics.
"""
