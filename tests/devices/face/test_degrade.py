from __future__ import annotations

import numpy as np
import pytest

from devices.face.degrade import DEGRADATIONS, dark, degrade, jpeg, noise
from tests.devices.face.helpers import photo


@pytest.mark.parametrize("variant", sorted(DEGRADATIONS))
def test_each_variant_changes_the_picture_and_is_repeatable(variant: str) -> None:
    image = photo("astronaut.png")
    once, again = DEGRADATIONS[variant](image), DEGRADATIONS[variant](image)
    assert once.shape == image.shape and once.dtype == np.uint8
    assert np.array_equal(once, again)
    assert np.abs(once.astype(int) - image.astype(int)).mean() > 1.0


def test_specific_effects() -> None:
    image = photo("biden.jpg")
    assert dark(image).mean() < 0.5 * image.mean()
    assert not np.array_equal(noise(image, seed=1), noise(image, seed=2))
    assert (
        np.abs(jpeg(image, 10).astype(int) - image.astype(int)).mean()
        > np.abs(jpeg(image, 90).astype(int) - image.astype(int)).mean()
    )


def test_named_chain() -> None:
    image = photo("biden.jpg")
    assert np.array_equal(degrade(image, "dark+jpeg"), jpeg(dark(image)))
    assert np.array_equal(degrade(image, ""), image)
    with pytest.raises(ValueError, match="unknown degradation 'sepia'"):
        degrade(image, "dark+sepia")
