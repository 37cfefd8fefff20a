import numpy as np
import pytest
import torch

from kanpde.pde import Box


def test_box_properties_and_faces():
    box = Box(("x", "y", "t"), (0.0, -1.0, 0.0), (2.0, 1.0, 0.5))
    assert box.dim == 3 and box.time_name == "t" and box.spatial_names == ("x", "y")
    assert box.extent == (2.0, 2.0, 0.5) and box.measure == pytest.approx(2.0)
    faces = box.faces()
    assert [(f.name, f.side, f.value) for f in faces] == [
        ("x", "low", 0.0),
        ("x", "high", 2.0),
        ("y", "low", -1.0),
        ("y", "high", 1.0),
    ]
    assert [f.measure for f in faces] == pytest.approx([1.0, 1.0, 1.0, 1.0])
    assert [f.normal for f in faces] == [-1.0, 1.0, -1.0, 1.0]
    init = box.initial_slice()
    assert init.name == "t" and init.value == 0.0 and init.measure == pytest.approx(4.0)


def test_box_without_time_has_no_initial_slice():
    box = Box(("x", "y"), (0, 0), (1, 1))
    assert box.time_name is None
    with pytest.raises(ValueError, match="no time coordinate"):
        box.initial_slice()


def test_point_faces_of_a_1d_box():
    box = Box("x", [0.0], [1.0])
    faces = box.faces()
    assert len(faces) == 2 and all(f.measure == 1.0 for f in faces)
    assert faces[0].free_box() is None


@pytest.mark.parametrize(
    "names, lo, hi, match",
    [
        (("x",), (1.0,), (1.0,), "'x' is empty"),
        (("x", "y"), (0.0, 2.0), (1.0, 1.0), "'y' is empty"),
        (("x", "x"), (0.0, 0.0), (1.0, 1.0), "unique"),
        (("x",), (0.0, 1.0), (1.0, 2.0), "one bound per name"),
        (("x",), (0.0,), (np.inf,), "finite"),
        ((), (), (), "at least one"),
    ],
)
def test_invalid_boxes(names, lo, hi, match):
    with pytest.raises(ValueError, match=match):
        Box(names, lo, hi)


def test_contains_and_face_membership():
    box = Box(("x", "t"), (-1.0, 0.0), (1.0, 1.0))
    x = np.array([[0.0, 0.5], [1.0, 0.2], [1.1, 0.5], [-1.0, 0.0]])
    assert box.contains(x).tolist() == [True, True, False, True]
    assert box.contains(torch.as_tensor(x)).tolist() == [True, True, False, True]
    hi = box.face("x", "high")
    assert hi.contains(x).tolist() == [False, True, False, False]
    assert box.initial_slice().contains(x).tolist() == [False, False, False, True]
    with pytest.raises(ValueError, match="unknown coordinate"):
        box.index("y")


def test_face_embed_sets_fixed_coordinate():
    box = Box(("x", "y", "t"), (0, 0, 0), (1, 2, 3))
    face = box.face("y", "high")
    pts = face.embed(np.array([[0.5, 1.5], [0.1, 2.0]]))
    np.testing.assert_array_equal(pts, [[0.5, 2.0, 1.5], [0.1, 2.0, 2.0]])
