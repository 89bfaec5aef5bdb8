"""A local web viewer of a dataset: ``arrowds view URL``, ``ds.visualize()``, ``serve(url)``.

The server (``server.py``) is the standard library's ThreadingHTTPServer answering a JSON API
(``api.py``) over read-only handles; the page (``static/``) is one HTML file, vanilla JS and
CSS. Thumbnails and mask overlays are made on the server (``render.py``) and cached.
"""

from arrowds.viewer.api import ApiError, ViewerAPI
from arrowds.viewer.notebook import visualize
from arrowds.viewer.server import Viewer, serve

__all__ = ["ApiError", "Viewer", "ViewerAPI", "serve", "visualize"]
