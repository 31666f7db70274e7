"""PneumoDesktop: an offline tool for spotting pneumonia on chest X-rays.

Research use only; not a medical device.
"""

__version__ = "0.1.0"
APP_NAME = "PneumoDesktop"
