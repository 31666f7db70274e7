"""The Qt desktop app. Everything here is a thin view over ``pneumo_desktop.core``."""
