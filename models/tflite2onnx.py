#!/usr/bin/env python3
"""Convert MediaPipe's BlazePose .tflite models to ONNX (our own small converter).

Why our own: tf2onnx needs TensorFlow and crashes on the sparse detector weights, and
tflite2onnx 0.4.1 fails on DENSIFY / HARD_SWISH / PAD (see /work/shared/docs/pose-model.md).
This converter only covers the ops that pose_detection, pose_landmark_full and
selfie_segmentation use; anything else stops with an error naming the op.

Layout: the ONNX graph keeps the TFLite interface (NHWC inputs/outputs, same tensor names:
`input_1`, `Identity`, `Identity_1`, ...) but runs NCHW inside, with one Transpose at each
4-D graph edge. Every rank-4 activation inside the graph is NCHW; tensors of other ranks keep
their TFLite layout. Weights are folded to fp32 constants (DEQUANTIZE and DENSIFY vanish).

Usage: tflite2onnx.py MODEL.tflite OUT.onnx
"""
import hashlib
import os
import sys

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper
from tflite.ActivationFunctionType import ActivationFunctionType as Act
from tflite.BuiltinOperator import BuiltinOperator
from tflite.DimensionType import DimensionType
from tflite.Padding import Padding
from tflite.TensorType import TensorType

OPSET = 17
NHWC2NCHW = (0, 3, 1, 2)
NCHW2NHWC = (0, 2, 3, 1)
OP_NAMES = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
NP_TYPES = {TensorType.FLOAT32: np.float32, TensorType.FLOAT16: np.float16,
            TensorType.INT32: np.int32, TensorType.INT64: np.int64,
            TensorType.INT8: np.int8, TensorType.UINT8: np.uint8}
# TFLite's SparseIndexVector union: 1 Int32Vector, 2 Uint16Vector, 3 Uint8Vector.
INDEX_VECTORS = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}


class ConversionError(Exception):
    pass


def options(op, cls):
    """Decode an operator's builtin options table as the given options class."""
    table = op.BuiltinOptions()
    if table is None:
        raise ConversionError(f"operator has no {cls.__name__}")
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def same_pads(size, kernel, stride, dilation=1):
    """TF 'SAME' padding for one spatial dim: (before, after), the odd pixel at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def densify(values, shape, sp):
    """Expand a TFLite sparse tensor to dense, following TFLite's sparse format.

    dim_metadata lists the traversal dims in traversal order; a DENSE level enumerates
    0..dense_size-1, a SPARSE_CSR level lists the children of entry p as
    array_indices[array_segments[p]:array_segments[p+1]]. Expanding level by level keeps the
    depth-first order in which the stored values are laid out. Block dims (traversal order
    entries >= rank) refine the original dim block_map[b] with block size
    dim_metadata[rank + b].dense_size.
    """
    rank = len(shape)
    order = list(sp.TraversalOrderAsNumpy())
    block_map = list(sp.BlockMapAsNumpy()) if sp.BlockMapLength() else []
    prev = np.zeros(1, np.int64)  # position of each partial path in its level
    coords = []  # coords[level][k]: index at that traversal level for path k
    for level in range(sp.DimMetadataLength()):
        dm = sp.DimMetadata(level)
        if dm.Format() == DimensionType.DENSE:
            n = dm.DenseSize()
            idx = np.tile(np.arange(n, dtype=np.int64), len(prev))
            coords = [np.repeat(c, n) for c in coords] + [idx]
            prev = np.repeat(prev, n) * n + idx
        else:
            vecs = []
            for tab, typ in ((dm.ArraySegments(), dm.ArraySegmentsType()),
                             (dm.ArrayIndices(), dm.ArrayIndicesType())):
                v = INDEX_VECTORS[typ]()
                v.Init(tab.Bytes, tab.Pos)
                vecs.append(v.ValuesAsNumpy().astype(np.int64))
            segments, indices = vecs
            start, stop = segments[prev], segments[prev + 1]
            counts = stop - start
            # positions start[k]..stop[k]-1 for each parent k, concatenated in order
            pos = np.repeat(start - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
            coords = [np.repeat(c, counts) for c in coords] + [indices[pos]]
            prev = pos
    if len(prev) != values.size:
        raise ConversionError(f"sparse tensor: {len(prev)} positions for {values.size} values")
    dense_idx = [None] * rank
    for level in range(rank):
        dense_idx[order[level]] = coords[level]
    for level in range(rank, len(order)):
        b = order[level] - rank
        dim = block_map[b]
        dense_idx[dim] = dense_idx[dim] * sp.DimMetadata(rank + b).DenseSize() + coords[level]
    out = np.zeros(shape, values.dtype)
    out[tuple(dense_idx)] = values.reshape(-1)
    return out


class Converter:
    def __init__(self, data):
        if data[4:8] != b"TFL3":
            raise ConversionError("not a TFLite model (no TFL3 file identifier)")
        self.model = tflite.Model.GetRootAsModel(data, 0)
        if self.model.SubgraphsLength() != 1:
            raise ConversionError("only single-subgraph models are supported")
        self.g = self.model.Subgraphs(0)
        self.nodes, self.inits = [], []
        self.env = {}    # tensor index -> ONNX value name (rank-4 ones are NCHW)
        self.const = {}  # tensor index -> np.ndarray in TFLite layout (folded weights)
        self.counter = 0
        for i in range(self.g.TensorsLength()):
            self._load_constant(i)

    # ---- tensors -----------------------------------------------------------------------
    def tensor(self, i):
        return self.g.Tensors(i)

    def shape(self, i):
        t = self.tensor(i)
        return tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()

    def tname(self, i):
        return self.tensor(i).Name().decode()

    def _load_constant(self, i):
        t = self.tensor(i)
        buf = self.model.Buffers(t.Buffer())
        if buf is None or buf.DataLength() == 0:
            return
        if t.Type() not in NP_TYPES:
            raise ConversionError(f"tensor {self.tname(i)}: unsupported type {t.Type()}")
        values = buf.DataAsNumpy().view(NP_TYPES[t.Type()])
        sp = t.Sparsity()
        # DENSIFY is folded here: the sparse constant is stored already expanded, and the
        # DENSIFY op just forwards it.
        self.const[i] = (densify(values, self.shape(i), sp) if sp is not None
                         else values.reshape(self.shape(i)).copy())

    def fresh(self, hint):
        self.counter += 1
        return f"{hint}_{self.counter}"

    def init(self, array, hint="const"):
        name = self.fresh(hint)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def value(self, i, rank4_context=False):
        """ONNX name for tensor i as an operand. Constants become initializers; in a rank-4
        (NCHW) context they are broadcast-aligned to NCHW first."""
        if i in self.env:
            return self.env[i]
        if i not in self.const:
            raise ConversionError(f"tensor {self.tname(i)} is used before it is produced")
        arr = self.const[i]
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
        if rank4_context and 0 < arr.ndim <= 4:
            arr = arr.reshape((1,) * (4 - arr.ndim) + arr.shape).transpose(NHWC2NCHW)
        return self.init(arr)

    def node(self, op_type, inputs, hint=None, **attrs):
        out = self.fresh(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def activation(self, x, act):
        """Apply a TFLite fused activation function."""
        if act == Act.NONE:
            return x
        if act == Act.RELU:
            return self.node("Relu", [x])
        if act in (Act.RELU6, Act.RELU_N1_TO_1):
            lo, hi = (0.0, 6.0) if act == Act.RELU6 else (-1.0, 1.0)
            return self.node("Clip", [x, self.init(np.float32(lo)), self.init(np.float32(hi))])
        if act == Act.TANH:
            return self.node("Tanh", [x])
        raise ConversionError(f"unsupported fused activation {act}")

    def spatial_pads(self, x_idx, kernel, stride, dilation, padding):
        """ONNX pads [top, left, bottom, right] for a TFLite SAME/VALID window."""
        if padding == Padding.VALID:
            return [0, 0, 0, 0]
        _, h, w, _ = self.shape(x_idx)
        ph = same_pads(h, kernel[0], stride[0], dilation[0])
        pw = same_pads(w, kernel[1], stride[1], dilation[1])
        return [ph[0], pw[0], ph[1], pw[1]]

    # ---- operators ---------------------------------------------------------------------
    # op_<TFLite op name>(op, ins, outs): ins/outs are tensor indices (-1 = absent input).
    # Returns the ONNX name of the (single) output, or an np.ndarray for a folded constant.
    def op_CONV_2D(self, op, ins, outs):
        o = options(op, tflite.Conv2DOptions)
        w = self.const[ins[1]].astype(np.float32)  # [O, KH, KW, I]
        group = self.shape(ins[0])[3] // w.shape[3]
        return self._conv(op, ins, w.transpose(0, 3, 1, 2), group, o)

    def op_DEPTHWISE_CONV_2D(self, op, ins, outs):
        o = options(op, tflite.DepthwiseConv2DOptions)
        w = self.const[ins[1]].astype(np.float32)  # [1, KH, KW, C*M]; out channel = c*M + m
        return self._conv(op, ins, w.transpose(3, 0, 1, 2), self.shape(ins[0])[3], o)

    def _conv(self, op, ins, w_oihw, group, o):
        stride, dil = [o.StrideH(), o.StrideW()], [o.DilationHFactor(), o.DilationWFactor()]
        pads = self.spatial_pads(ins[0], w_oihw.shape[2:], stride, dil, o.Padding())
        inputs = [self.value(ins[0]), self.init(w_oihw, "weight")]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.value(ins[2]))
        y = self.node("Conv", inputs, strides=stride, dilations=dil, pads=pads, group=group)
        return self.activation(y, o.FusedActivationFunction())

    def _pool(self, op, ins, op_type):
        o = options(op, tflite.Pool2DOptions)
        k, s = [o.FilterHeight(), o.FilterWidth()], [o.StrideH(), o.StrideW()]
        pads = self.spatial_pads(ins[0], k, s, [1, 1], o.Padding())
        # AveragePool's default count_include_pad=0 matches TFLite (padding not counted).
        y = self.node(op_type, [self.value(ins[0])], kernel_shape=k, strides=s, pads=pads)
        return self.activation(y, o.FusedActivationFunction())

    def op_MAX_POOL_2D(self, op, ins, outs):
        return self._pool(op, ins, "MaxPool")

    def op_AVERAGE_POOL_2D(self, op, ins, outs):
        return self._pool(op, ins, "AveragePool")

    def _binary(self, op, ins, outs, op_type, opts_cls):
        a, b = (self.value(i, len(self.shape(outs[0])) == 4) for i in ins[:2])
        act = options(op, opts_cls).FusedActivationFunction() if op.BuiltinOptions() else Act.NONE
        return self.activation(self.node(op_type, [a, b]), act)

    def op_ADD(self, op, ins, outs):
        return self._binary(op, ins, outs, "Add", tflite.AddOptions)

    def op_MUL(self, op, ins, outs):
        return self._binary(op, ins, outs, "Mul", tflite.MulOptions)

    def op_PAD(self, op, ins, outs):
        pads = self.const[ins[1]].astype(np.int64)  # [rank, 2] (before, after) per dim
        if pads.shape[0] == 4:
            pads = pads[list(NHWC2NCHW)]
        onnx_pads = np.concatenate([pads[:, 0], pads[:, 1]])
        return self.node("Pad", [self.value(ins[0]), self.init(onnx_pads, "pads")])

    def op_RESHAPE(self, op, ins, outs):
        # Reshape has NHWC semantics: go back to NHWC around it when rank-4 is involved.
        x = self.value(ins[0])
        if len(self.shape(ins[0])) == 4:
            x = self.node("Transpose", [x], perm=NCHW2NHWC)
        out_shape = self.shape(outs[0])
        y = self.node("Reshape", [x, self.init(np.array(out_shape, np.int64), "shape")])
        if len(out_shape) == 4:
            y = self.node("Transpose", [y], perm=NHWC2NCHW)
        return y

    def op_CONCATENATION(self, op, ins, outs):
        o, out_rank = options(op, tflite.ConcatenationOptions), len(self.shape(outs[0]))
        axis = o.Axis() % out_rank
        if out_rank == 4:
            axis = NHWC2NCHW.index(axis)
        y = self.node("Concat", [self.value(i, out_rank == 4) for i in ins], axis=axis)
        return self.activation(y, o.FusedActivationFunction())

    def op_DEPTH_TO_SPACE(self, op, ins, outs):
        # TF's depth_to_space takes channel (i*bs + j)*C + c -> ONNX mode DCR.
        bs = options(op, tflite.DepthToSpaceOptions).BlockSize()
        return self.node("DepthToSpace", [self.value(ins[0])], blocksize=bs, mode="DCR")

    def op_RESIZE_BILINEAR(self, op, ins, outs):
        o = options(op, tflite.ResizeBilinearOptions)
        if o.AlignCorners():
            mode = "align_corners"
        elif o.HalfPixelCenters():
            mode = "half_pixel"  # TF clamps negative source coords to 0, as ORT does
        else:
            mode = "asymmetric"
        n, _, _, c = self.shape(ins[0])
        h, w = (int(v) for v in self.const[ins[1]])
        sizes = self.init(np.array([n, c, h, w], np.int64), "sizes")
        return self.node("Resize", [self.value(ins[0]), "", "", sizes], mode="linear",
                         coordinate_transformation_mode=mode)

    def op_LOGISTIC(self, op, ins, outs):
        return self.node("Sigmoid", [self.value(ins[0])])

    def op_RELU(self, op, ins, outs):
        return self.node("Relu", [self.value(ins[0])])

    def op_HARD_SWISH(self, op, ins, outs):
        return self.node("HardSwish", [self.value(ins[0])])  # x * relu6(x + 3) / 6

    def op_DEQUANTIZE(self, op, ins, outs):
        i = ins[0]
        if i not in self.const:
            raise ConversionError("DEQUANTIZE of a non-constant tensor is not supported")
        arr, q = self.const[i], self.tensor(i).Quantization()
        if arr.dtype.kind in "iu" and q is not None and q.ScaleLength():
            shape = [1] * arr.ndim
            if q.ScaleLength() > 1:
                shape[q.QuantizedDimension()] = -1
            scale = q.ScaleAsNumpy().reshape(shape)
            zero = q.ZeroPointAsNumpy().reshape(shape) if q.ZeroPointLength() else 0
            return (arr.astype(np.float32) - zero) * scale
        return arr.astype(np.float32)

    def op_DENSIFY(self, op, ins, outs):
        return self.const[ins[0]]  # expanded at load time (see _load_constant)

    def op_Convolution2DTransposeBias(self, op, ins, outs):
        # MediaPipe custom op; options are 3 int32: padding (TfLitePadding: 1 SAME, 2 VALID),
        # stride_w, stride_h. Weights [O, KH, KW, I] -> ONNX ConvTranspose [I, O, KH, KW].
        padding, sw, sh = np.frombuffer(op.CustomOptionsAsNumpy().tobytes()[:12], np.int32)
        w = self.const[ins[1]].astype(np.float32)
        _, kh, kw, _ = w.shape
        (_, ih, iw, _), (_, oh, ow, _) = self.shape(ins[0]), self.shape(outs[0])
        pads = [0, 0, 0, 0]
        if padding == 1:  # SAME: the conv this inverts had its odd pixel at the end
            ph, pw = same_pads(oh, kh, sh), same_pads(ow, kw, sw)
            pads = [ph[0], pw[0], (ih - 1) * sh + kh - ph[0] - oh, (iw - 1) * sw + kw - pw[0] - ow]
        inputs = [self.value(ins[0]), self.init(w.transpose(3, 0, 1, 2), "weight")]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.value(ins[2]))
        return self.node("ConvTranspose", inputs, kernel_shape=[kh, kw], strides=[int(sh), int(sw)],
                         pads=[int(p) for p in pads])

    # ---- driver ------------------------------------------------------------------------
    def op_name(self, op):
        code = self.model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == BuiltinOperator.CUSTOM:
            return code.CustomCode().decode()
        return OP_NAMES.get(builtin, f"builtin#{builtin}")

    def convert(self, doc=""):
        g, graph_inputs, graph_outputs = self.g, [], []
        for i in g.InputsAsNumpy():
            shape = self.shape(i)
            graph_inputs.append(helper.make_tensor_value_info(self.tname(i), TensorProto.FLOAT, shape))
            self.env[i] = (self.node("Transpose", [self.tname(i)], perm=NHWC2NCHW)
                           if len(shape) == 4 else self.tname(i))
        for k in range(g.OperatorsLength()):
            op = g.Operators(k)
            name = self.op_name(op)
            handler = getattr(self, f"op_{name}", None)
            if handler is None:
                raise ConversionError(f"unsupported TFLite op {name} (operator #{k})")
            outs = list(op.OutputsAsNumpy())
            result = handler(op, list(op.InputsAsNumpy()), outs)
            if isinstance(result, np.ndarray):
                self.const[outs[0]] = result  # folded at conversion time
            else:
                self.env[outs[0]] = result
        renames = {}
        for i in g.OutputsAsNumpy():
            name, shape = self.tname(i), self.shape(i)
            graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
            if len(shape) == 4:
                self.nodes.append(helper.make_node("Transpose", [self.env[i]], [name],
                                                   name=name + "_to_nhwc", perm=NCHW2NHWC))
            else:
                renames[self.env[i]] = name  # let the producing node write the output name
        for n in self.nodes:
            n.input[:] = [renames.get(x, x) for x in n.input]
            n.output[:] = [renames.get(x, x) for x in n.output]
        graph = helper.make_graph(self.nodes, "main", graph_inputs, graph_outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="metapix-tflite2onnx", doc_string=doc)
        model.ir_version = 8  # readable by onnxruntime >= 1.14
        # full_check runs strict shape inference: a conflict with the declared TFLite
        # output shapes fails here, before anything is written
        onnx.checker.check_model(model, full_check=True)
        return model


def convert_file(src, dst):
    data = open(src, "rb").read()
    doc = f"Converted from {os.path.basename(src)} (sha256 {hashlib.sha256(data).hexdigest()})"
    model = Converter(data).convert(doc)
    tmp = f"{dst}.tmp{os.getpid()}"
    onnx.save(model, tmp)
    os.replace(tmp, dst)  # atomic: readers never see a half-written file
    return model


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        model = convert_file(argv[1], argv[2])
    except ConversionError as e:
        print(f"tflite2onnx: {argv[1]}: {e}", file=sys.stderr)
        return 1
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{argv[1]} -> {argv[2]}: {len(model.graph.node)} nodes ({', '.join(ops)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
