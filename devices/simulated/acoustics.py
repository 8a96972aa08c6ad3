"""How a simulated courtroom sounds: each voice reaches its own seat microphone with the room's
reverberation, and every other seat microphone 20-30 dB down and a few milliseconds late; over all of
it the room's noise.

A real hearing room is like that (gooseneck microphones 2-6 m apart in a furnished room of RT60 about
0.4 s, ventilation noise around -50 dBFS at the interface); a simulation where each microphone hears
only its own speaker makes the camera director's and the role attribution's job trivial.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.signal import fftconvolve

from devices.media import Samples

SPEED_OF_SOUND = 343.0


@dataclass(frozen=True, slots=True)
class RoomAcoustics:
    """The room's sound. Seats are taken to stand in a row ``seat_spacing`` metres apart (in the
    order the room lists them): the nearest neighbour leaks at ``crosstalk_db[1]``, the farthest at
    ``crosstalk_db[0]``, each late by its distance over the speed of sound."""

    crosstalk_db: tuple[float, float] = (-30.0, -20.0)
    """Leak level of a voice into another seat's microphone: (farthest seat, nearest seat), in dB."""
    seat_spacing: float = 1.2
    """Metres between neighbouring seats (sets the leak's delay)."""
    rt60: float = 0.4
    """Reverberation time (seconds for the tail to fall by 60 dB); 0 for none."""
    reverb_db: float = -14.0
    """Energy of the reverberant tail relative to the direct sound at the speaker's own microphone
    (a close microphone hears mostly direct sound; a leak is reverberant, see :meth:`leak_reverb_db`)."""
    noise_dbfs: float = -50.0
    """Room noise (RMS dBFS) on every microphone."""

    def __post_init__(self) -> None:
        far, near = self.crosstalk_db
        if far > near:
            raise ValueError("crosstalk_db is (farthest, nearest): the farthest leak must be the quieter")
        if near > 0:
            raise ValueError("crosstalk_db must be negative (a leak is quieter than the voice)")
        if self.seat_spacing < 0 or self.rt60 < 0:
            raise ValueError("seat_spacing and rt60 must not be negative")

    def leak(self, distance: int, seats: int) -> tuple[float, float]:
        """(gain in dB, delay in seconds) of a voice ``distance`` seats away in a row of ``seats``."""
        far, near = self.crosstalk_db
        fraction = (distance - 1) / (seats - 2) if seats > 2 else 0.0
        db = near + (far - near) * min(1.0, max(0.0, fraction))
        return db, distance * self.seat_spacing / SPEED_OF_SOUND

    @property
    def leak_reverb_db(self) -> float:
        # A distant microphone hears the room about as loud as the direct path.
        return min(0.0, self.reverb_db + 10.0)


@lru_cache(maxsize=8)
def impulse_response(sample_rate: int, rt60: float, reverb_db: float, seed: int = 0) -> Samples:
    """A room's impulse response: the direct sound (1 at t=0) and an exponentially decaying noise
    tail whose energy is ``reverb_db`` relative to it."""
    if rt60 <= 0:
        return np.ones(1, np.float32)
    n = max(2, round(rt60 * sample_rate))
    t = np.arange(n) / sample_rate
    rng = np.random.default_rng(seed)
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail[: max(1, sample_rate // 200)] = 0.0  # the first reflections come after about 5 ms
    tail *= np.sqrt(10 ** (reverb_db / 10) / max(1e-12, float(np.sum(tail * tail))))
    tail[0] = 1.0
    return tail.astype(np.float32)


def reverberate(samples: Samples, sample_rate: int, rt60: float, reverb_db: float, seed: int = 0) -> Samples:
    """``samples`` as heard in the room (longer by the tail)."""
    if rt60 <= 0 or len(samples) == 0:
        return np.asarray(samples, dtype=np.float32)
    ir = impulse_response(sample_rate, rt60, reverb_db, seed)
    return np.asarray(fftconvolve(np.asarray(samples, dtype=np.float32), ir), dtype=np.float32)
