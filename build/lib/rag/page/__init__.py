"""The chat page's helpers beside ``app.py``: rendering answers and citations, adding articles."""
