"""Domains of a problem behind one protocol (:class:`Domain`): boxes in space and space-time
with their faces (``box.py``), planar shapes and their set operations (``shapes.py``, with the
boundary pieces they are drawn on in ``pieces.py``)."""

from kanpde.pde.geometry.box import TIME_NAME, Box, Face
from kanpde.pde.geometry.domain import Domain
from kanpde.pde.geometry.shapes import Difference, Disk, Intersection, Polygon, Shape, Union

__all__ = ["TIME_NAME", "Box", "Difference", "Disk", "Domain", "Face", "Intersection",
           "Polygon", "Shape", "Union"]
