"""dlib's face ResNet (``dlib_face_recognition_resnet_model_v1.dat``) run by onnxruntime, not dlib.

The network and its weights are dlib's, read from the same ``.dat`` file; only the arithmetic moves:
``dlib-bin`` is built without BLAS and takes 130–170 ms a chip on one core, onnxruntime about 6 ms.
The output is dlib's descriptor up to float rounding (differences below 1e-6; see
``tests/devices/face/test_embed.py``), so the distance thresholds calibrated on dlib's descriptors
hold unchanged.

The file is dlib's serialisation of ``anet_type`` from dlib's ``dnn_face_recognition_ex.cpp``: a 7×7
stride-2 convolution and a 3×3 max pool, 14 residual blocks (3 of 32 channels, 4 of 64, 3 of 128, 4 of
256; the first of each width after the first halves the size: its shortcut is a 2×2 average pool,
zero-padded in channels and, where the sizes differ, in rows and columns, as dlib's ``add_prev``
does), a global average pool and a 256→128 linear layer without bias. Batch normalisation is stored
as ``affine_`` layers, folded here into the convolutions before them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped]

F32 = npt.NDArray[np.float32]

_INPUT_SIZE = 150


class ModelFormatError(ValueError):
    """The file is not the dlib face ResNet this module knows how to read."""


@dataclass(frozen=True, slots=True)
class _Conv:
    weights: F32
    """(kernel rows × kernel columns × input channels, output channels), affine folded in."""
    bias: F32
    size: int
    stride: int
    padding: int


@dataclass(frozen=True, slots=True)
class _Block:
    first: _Conv
    second: _Conv
    down: bool
    """The shortcut is a 2×2 stride-2 average pool (the first conv has stride 2)."""


class _Reader:
    """dlib's serialisation: integers as a size byte (0x80: negative) then little-endian bytes,
    strings as a length then bytes, tensors as version 2, four sizes then little-endian float32."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def integer(self) -> int:
        head = self.data[self.pos]
        size = head & 0x0F
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if head & 0x80 else value

    def string(self) -> str:
        n = self.integer()
        text = self.data[self.pos : self.pos + n].decode("ascii")
        self.pos += n
        return text

    def float_value(self) -> float:
        mantissa = self.integer()
        exponent = self.integer()
        return float(np.ldexp(float(mantissa), exponent))

    def tensor(self) -> F32:
        version = self.integer()
        if version != 2:
            raise ModelFormatError(f"tensor version {version}, expected 2")
        shape = [self.integer() for _ in range(4)]
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
        self.pos += 4 * count
        return values.astype(np.float32)


# The named layers as dlib writes them: a length-prefixed version string. Tags and skips write no
# name; their place is implied by the residual structure checked in :func:`_assemble`.
_LAYER = re.compile(
    rb"\x01(\x05con_4|\x07affine_|\x05relu_|\x0amax_pool_2|\x0aavg_pool_2|\x09add_prev_|\x04fc_2)"
)
_INPUT = b"\x01\x15input_rgb_image_sized"


@dataclass(frozen=True, slots=True)
class _Layer:
    kind: str
    """con, affine, relu, max_pool, avg_pool, add_prev, fc (or input: the mean pixel as ``values``)."""
    values: F32
    """The layer's parameters (empty when it has none)."""
    sizes: tuple[int, ...] = ()
    """con: filters, size, stride, padding; pools: rows, columns, strides, paddings; fc: out, in."""


_NONE = np.empty(0, np.float32)


def _layers(data: bytes) -> list[_Layer]:
    start = data.find(_INPUT)
    if start < 0:
        raise ModelFormatError("no input_rgb_image_sized layer")
    reader = _Reader(data, start)
    reader.string()
    mean = np.asarray([reader.float_value() for _ in range(3)], np.float32)
    found = [_Layer("input", mean)]
    for match in _LAYER.finditer(data, reader.pos):
        reader = _Reader(data, match.start())
        name = reader.string()
        if name == "con_4":
            params = reader.tensor()
            filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.integer() for _ in range(7))
            if rows != cols or stride_y != stride_x or pad_y != pad_x:
                raise ModelFormatError("only square convolutions are expected")
            found.append(_Layer("con", params, (filters, rows, stride_y, pad_y)))
        elif name == "affine_":
            found.append(_Layer("affine", reader.tensor()))
        elif name in ("max_pool_2", "avg_pool_2"):
            found.append(_Layer(name[:-2], _NONE, tuple(reader.integer() for _ in range(6))))
        elif name == "fc_2":
            outputs, inputs = reader.integer(), reader.integer()
            found.append(_Layer("fc", reader.tensor(), (outputs, inputs)))
        else:
            found.append(_Layer(name.rstrip("_"), _NONE))
    return found


def _conv(con: _Layer, affine: _Layer, in_channels: int) -> _Conv:
    params = con.values
    filters, size, stride, padding = con.sizes
    n = filters * in_channels * size * size
    if params.size != n + filters or affine.values.size != 2 * filters:
        raise ModelFormatError(f"unexpected convolution sizes ({params.size}, {affine.values.size})")
    gamma, beta = affine.values[:filters], affine.values[filters:]
    w = params[:n].reshape(filters, in_channels, size, size) * gamma[:, None, None, None]
    # Rows ordered (kernel row, kernel column, input channel) to match the patches of an HWC picture.
    weights = np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(size * size * in_channels, filters))
    bias = np.asarray(params[n:] * gamma + beta, np.float32)
    return _Conv(np.asarray(weights, np.float32), bias, size, stride, padding)


_PLAIN = ["con", "affine", "relu", "con", "affine", "add_prev", "relu"]
_DOWN = ["con", "affine", "relu", "con", "affine", "avg_pool", "add_prev", "relu"]


def _assemble(layers: list[_Layer]) -> tuple[F32, _Conv, list[_Block], F32]:
    kinds = [layer.kind for layer in layers]
    if kinds[:5] != ["input", "con", "affine", "relu", "max_pool"] or kinds[-2:] != ["avg_pool", "fc"]:
        raise ModelFormatError(f"unexpected layer order: {kinds[:5]} … {kinds[-2:]}")
    stem = _conv(layers[1], layers[2], 3)
    if layers[4].sizes != (3, 3, 2, 2, 0, 0):
        raise ModelFormatError(f"unexpected max pool {layers[4].sizes}")
    channels = stem.weights.shape[1]
    blocks = []
    k = 5
    while k < len(layers) - 2:
        if kinds[k : k + 8] == _DOWN:
            if layers[k + 5].sizes != (2, 2, 2, 2, 0, 0):
                raise ModelFormatError(f"unexpected shortcut pool {layers[k + 5].sizes}")
            step, down = 8, True
        elif kinds[k : k + 7] == _PLAIN:
            step, down = 7, False
        else:
            raise ModelFormatError(f"unexpected layers at {k}: {kinds[k : k + 8]}")
        first = _conv(layers[k], layers[k + 1], channels)
        out = first.weights.shape[1]
        second = _conv(layers[k + 3], layers[k + 4], out)
        if (first.stride == 2) != down or second.stride != 1 or first.size != 3 or second.size != 3:
            raise ModelFormatError(f"unexpected residual block at {k}")
        blocks.append(_Block(first, second, down))
        channels = out
        k += step
    if layers[-2].sizes != (0, 0, 1, 1, 0, 0):
        raise ModelFormatError(f"unexpected final pool {layers[-2].sizes}")
    fc = layers[-1]
    outputs, inputs = fc.sizes
    if inputs != channels or fc.values.size != inputs * outputs:
        raise ModelFormatError(f"unexpected fc layer {inputs}→{outputs}")
    return layers[0].values, stem, blocks, np.ascontiguousarray(fc.values.reshape(inputs, outputs))


# -- the network as an ONNX graph, run by onnxruntime -------------------------------------------------
# onnxruntime is a dependency already (speech); the ``onnx`` package is not, so the few protobuf
# messages needed are written by hand (field numbers from onnx.proto).


def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int(field: int, n: int) -> bytes:
    return _varint(field << 3) + _varint(n)


def _bytes(field: int, data: bytes | str) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return _varint(field << 3 | 2) + _varint(len(raw)) + raw


def _tensor(name: str, values: npt.NDArray[np.float32] | npt.NDArray[np.int64]) -> bytes:
    kind = 1 if values.dtype == np.float32 else 7  # FLOAT, INT64
    dims = b"".join(_int(1, d) for d in values.shape)
    return dims + _int(2, kind) + _bytes(8, name) + _bytes(9, np.ascontiguousarray(values).tobytes())


def _ints(name: str, values: tuple[int, ...]) -> bytes:
    return _bytes(1, name) + b"".join(_int(8, v) for v in values) + _int(20, 7)  # INTS


def _value(name: str, shape: tuple[int, ...]) -> bytes:
    dims = b"".join(_bytes(1, _int(1, d)) for d in shape)
    return _bytes(1, name) + _bytes(2, _bytes(1, _int(1, 1) + _bytes(2, dims)))


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[bytes] = []
        self.weights: list[bytes] = []
        self.count = 0

    def weight(self, values: npt.NDArray[np.float32] | npt.NDArray[np.int64]) -> str:
        name = f"w{len(self.weights)}"
        self.weights.append(_bytes(5, _tensor(name, values)))
        return name

    def node(self, op: str, inputs: list[str], **attributes: tuple[int, ...]) -> str:
        self.count += 1
        out = f"t{self.count}"
        body = b"".join(_bytes(1, i) for i in inputs) + _bytes(2, out) + _bytes(4, op)
        body += b"".join(_bytes(5, _ints(k, v)) for k, v in attributes.items())
        self.nodes.append(_bytes(1, body))
        return out

    def conv(self, conv: _Conv, x: str, in_channels: int) -> str:
        k, p, s = conv.size, conv.padding, conv.stride
        oihw = conv.weights.reshape(k, k, in_channels, -1).transpose(3, 2, 0, 1)
        w = self.weight(np.ascontiguousarray(oihw, np.float32))
        b = self.weight(conv.bias)
        return self.node("Conv", [x, w, b], kernel_shape=(k, k), strides=(s, s), pads=(p, p, p, p))

    def model(self, inputs: bytes, output: bytes) -> bytes:
        graph = b"".join(self.nodes) + _bytes(2, "dlib_resnet") + b"".join(self.weights)
        graph += _bytes(11, inputs) + _bytes(12, output)
        opset = _bytes(8, _bytes(1, "") + _int(2, 13))
        return _int(1, 8) + _bytes(2, "devices.face.resnet") + _bytes(7, graph) + opset


def _conv_size(size: int, conv: _Conv) -> int:
    return 1 + (size + 2 * conv.padding - conv.size) // conv.stride


def _onnx(stem: _Conv, blocks: list[_Block], fc: F32) -> bytes:
    g = _Graph()
    x = g.conv(stem, "chip", 3)
    x = g.node("Relu", [x])
    x = g.node("MaxPool", [x], kernel_shape=(3, 3), strides=(2, 2))
    channels = stem.weights.shape[1]
    size = (_conv_size(_INPUT_SIZE, stem) - 3) // 2 + 1
    for block in blocks:
        y = g.node("Relu", [g.conv(block.first, x, channels)])
        out = block.first.weights.shape[1]
        y = g.conv(block.second, y, out)
        y_size = _conv_size(_conv_size(size, block.first), block.second)
        shortcut, s_size = x, size
        if block.down:
            shortcut = g.node("AveragePool", [x], kernel_shape=(2, 2), strides=(2, 2))
            s_size = (size - 2) // 2 + 1
        # dlib's add_prev: the larger shape, the smaller tensor zero-padded after its end.
        full = max(y_size, s_size)
        if out > channels or s_size < full:
            pads = np.array([0, 0, 0, 0, 0, out - channels, full - s_size, full - s_size], np.int64)
            shortcut = g.node("Pad", [shortcut, g.weight(pads)])
        if y_size < full:
            pads = np.array([0, 0, 0, 0, 0, 0, full - y_size, full - y_size], np.int64)
            y = g.node("Pad", [y, g.weight(pads)])
        x = g.node("Relu", [g.node("Add", [y, shortcut])])
        channels, size = out, full
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x])])
    x = g.node("MatMul", [x, g.weight(np.ascontiguousarray(fc, np.float32))])
    return g.model(_value("chip", (1, 3, _INPUT_SIZE, _INPUT_SIZE)), _value(x, (1, fc.shape[1])))


class DlibResnet:
    """dlib's face ResNet on onnxruntime, ``threads`` threads (default one: at a door terminal the
    detector and everything else share two cores, and idle-spinning pool threads only steal from
    them). Thread-safe (onnxruntime sessions are)."""

    def __init__(self, path: Path, *, threads: int = 1) -> None:
        data = path.read_bytes()
        try:
            self._mean, stem, blocks, fc = _assemble(_layers(data))
        except (IndexError, UnicodeDecodeError) as exc:  # a truncated or foreign file
            raise ModelFormatError(f"{path}: not a dlib face ResNet ({exc})") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            _onnx(stem, blocks, fc), options, providers=["CPUExecutionProvider"]
        )
        self._output = self._session.get_outputs()[0].name

    def __call__(self, chip: npt.NDArray[np.uint8]) -> F32:
        """The 128-D descriptor of a 150×150 RGB aligned chip (as ``dlib.get_face_chip`` cuts it)."""
        if chip.shape != (_INPUT_SIZE, _INPUT_SIZE, 3):
            raise ValueError(f"expected a {_INPUT_SIZE}×{_INPUT_SIZE}×3 RGB chip, got {chip.shape}")
        x = (chip.astype(np.float32) - self._mean) * np.float32(1 / 256)
        x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
        (out,) = self._session.run([self._output], {"chip": x})
        return np.asarray(out[0], np.float32)
