"""Domains of a problem behind one protocol (:class:`Domain`): boxes in space and space-time
with their faces (``box.py``), planar shapes and their set operations (``shapes.py``, with the
boundary pieces they are drawn on in ``pieces.py``), n-D solids (balls, boxes, set operations:
``solids.py`` with their ``patches.py``), space-time domains over them (``spacetime.py``), and
the surfaces conditions live on (``boundary.py``)."""

from kanpde.pde.geometry.boundary import Boundary, FaceSet, Surface, as_surface
from kanpde.pde.geometry.box import TIME_NAME, Box, Face
from kanpde.pde.geometry.domain import Domain
from kanpde.pde.geometry.shapes import Difference, Disk, Intersection, Polygon, Shape, Union
from kanpde.pde.geometry.solids import (
    Ball,
    Cuboid,
    Solid,
    SolidDifference,
    SolidIntersection,
    SolidUnion,
)
from kanpde.pde.geometry.spacetime import InitialSlice, SpaceTime

__all__ = ["TIME_NAME", "Ball", "Boundary", "Box", "Cuboid", "Difference", "Disk", "Domain",
           "Face", "FaceSet", "InitialSlice", "Intersection", "Polygon", "Shape", "Solid",
           "SolidDifference", "SolidIntersection", "SolidUnion", "SpaceTime", "Surface",
           "Union", "as_surface"]
