"""``shopctrl-desktop demo``: the application with demo triggers, a built-in sample receiver and a stream of
sample events — a face of its own above the engine and the GUI, like the CLI.

``main`` runs it (the GUI or ``--headless``), ``receiver`` is the sample receiver, ``triggers`` the demo
triggers pointing at it, ``events`` the stream of sample events posted to the listener.
Nothing in engine/, store/ or domain/ imports this package.
"""
