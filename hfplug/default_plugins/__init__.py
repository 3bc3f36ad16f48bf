"""Built-in components, registered exactly like any third-party plugin."""
