"""Writes the ONNX models the tests and the bench use (pip install onnx numpy).

  python make_models.py test DIR   small models with known outputs (committed in testdata/)
  python make_models.py bench DIR  stand-ins for yolox_l / dw-ll_ucoco_384 with the real input and
                                   output names and shapes and a comparable size and layer mix
                                   (random weights: their outputs mean nothing, their cost does)

The test models ignore their input (it is multiplied by zero, so the graph still reads it) and emit
fixed tensors, so every position the pipeline computes can be worked out by hand (see the tests).
"""
import sys
import numpy as np
import onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh

OPSET = 13


def const(name, arr):
    return h.make_node("Constant", [], [name], value=nh.from_array(np.asarray(arr), name + "_v"))


def zero_term(inp, shape_rank, nodes):
    """A scalar that is always 0 but depends on the input, so engines cannot drop the input."""
    nodes.append(h.make_node("ReduceMean", [inp], ["zm"], axes=[1, 2, 3], keepdims=0))
    nodes.append(const("zero_f", np.array(0.0, np.float32)))
    nodes.append(h.make_node("Mul", ["zm", "zero_f"], ["zz"]))
    nodes.append(const("zshape", np.array([1] * shape_rank, np.int64)))
    nodes.append(h.make_node("Reshape", ["zz", "zshape"], ["zero"]))
    return "zero"


# Detector rows: (anchor index, [dx, dy, log w/stride, log h/stride], objectness, class scores)
# Anchors: stride 8 grid 80x80 -> 0..6399, stride 16 grid 40x40 -> 6400..7999, stride 32 20x20 -> 8000..8399.
DET_ROWS = [
    # stride 16, grid (20, 20): centre (320, 320), w 8*16=128? no: exp(ln 8)*16 = 128, h exp(ln 24)*16 = 384
    (6400 + 20 * 40 + 20, [0.0, 0.0, np.log(8.0), np.log(24.0)], 0.8, {0: 0.9}),   # person, 0.72
    # stride 32, grid (10, 10): centre (320, 320), w 4*32 = 128, h 12*32=384 shifted right 0.25 -> (328, 320)
    (8000 + 10 * 20 + 10, [0.25, 0.0, np.log(4.0), np.log(12.0)], 0.9, {0: 0.9}),  # person, 0.81 (kept)
    # stride 8, grid (60, 10): centre (484, 84), a low-scoring person: 0.5 * 0.5 = 0.25 < 0.3
    (10 * 80 + 60, [0.5, 0.5, np.log(4.0), np.log(4.0)], 0.5, {0: 0.5}),
    # stride 8, grid (10, 70): a confident class-2 object (a car): not a person, ignored
    (70 * 80 + 10, [0.0, 0.0, np.log(4.0), np.log(4.0)], 0.95, {2: 0.95}),
]


def det_test():
    nodes = []
    z = zero_term("images", 3, nodes)
    rows = sorted(DET_ROWS, key=lambda r: r[0])
    parts, cursor = [], 0
    nodes.append(const("zero_scalar", np.array([0.0], np.float32)))
    for i, (idx, reg, obj, cls) in enumerate(rows):
        if idx > cursor:
            nodes.append(const(f"gap_shape{i}", np.array([1, idx - cursor, 85], np.int64)))
            nodes.append(h.make_node("Expand", ["zero_scalar", f"gap_shape{i}"], [f"gap{i}"]))
            parts.append(f"gap{i}")
        row = np.zeros((1, 1, 85), np.float32)
        row[0, 0, :4] = reg
        row[0, 0, 4] = obj
        for c, s in cls.items():
            row[0, 0, 5 + c] = s
        nodes.append(const(f"row{i}", row))
        parts.append(f"row{i}")
        cursor = idx + 1
    nodes.append(const("tail_shape", np.array([1, 8400 - cursor, 85], np.int64)))
    nodes.append(h.make_node("Expand", ["zero_scalar", "tail_shape"], ["tail"]))
    parts.append("tail")
    nodes.append(h.make_node("Concat", parts, ["raw"], axis=1))
    nodes.append(h.make_node("Add", ["raw", z], ["output"]))
    g = h.make_graph(nodes, "det_test",
                     [h.make_tensor_value_info("images", T.FLOAT, [1, 3, 640, 640])],
                     [h.make_tensor_value_info("output", T.FLOAT, [1, 8400, 85])])
    return h.make_model(g, opset_imports=[h.make_opsetid("", OPSET)])


def crop_keypoints():
    """133 COCO-WholeBody points in crop pixels (288x384) and their peak values."""
    body = [(144, 60), (152, 52), (136, 52), (162, 58), (126, 58), (184, 110), (104, 110),
            (200, 170), (88, 170), (210, 225), (78, 225), (170, 220), (118, 220),
            (174, 290), (114, 290), (176, 350), (112, 350)]
    feet = [(186, 362), (180, 364), (172, 358), (102, 362), (108, 364), (116, 358)]
    face = []
    for i in range(68):
        a = 2 * np.pi * i / 68
        face.append((int(round(144 + 14 * np.cos(a))), int(round(64 + 18 * np.sin(a)))))

    def hand(wx, wy, sign):
        pts = [(wx, wy)]
        for f in range(5):
            for j in range(1, 5):
                pts.append((wx + sign * (f * 4 - 8), wy + 6 * j))
        return pts

    pts = body + feet + face + hand(210, 230, 1) + hand(78, 230, -1)
    vals = [0.9] * 133
    vals[3] = 0.2  # left ear below the 0.3 visibility threshold
    return pts, vals


def pose_test():
    pts, vals = crop_keypoints()
    nodes = []
    z = zero_term("input", 3, nodes)
    for axis, n, col in (("x", 576, 0), ("y", 768, 1)):
        nodes.append(const(f"iota_{axis}", np.arange(n, dtype=np.float32).reshape(1, 1, n)))
        nodes.append(const(f"peak_{axis}", np.array([2 * p[col] for p in pts], np.float32).reshape(1, 133, 1)))
        nodes.append(const(f"val_{axis}", np.array(vals, np.float32).reshape(1, 133, 1)))
        nodes.append(h.make_node("Equal", [f"iota_{axis}", f"peak_{axis}"], [f"eq_{axis}"]))
        nodes.append(h.make_node("Cast", [f"eq_{axis}"], [f"oh_{axis}"], to=T.FLOAT))
        nodes.append(h.make_node("Mul", [f"oh_{axis}", f"val_{axis}"], [f"m_{axis}"]))
        nodes.append(h.make_node("Add", [f"m_{axis}", z], [f"simcc_{axis}"]))
    g = h.make_graph(nodes, "pose_test",
                     [h.make_tensor_value_info("input", T.FLOAT, [1, 3, 384, 288])],
                     [h.make_tensor_value_info("simcc_x", T.FLOAT, [1, 133, 576]),
                      h.make_tensor_value_info("simcc_y", T.FLOAT, [1, 133, 768])])
    return h.make_model(g, opset_imports=[h.make_opsetid("", OPSET)])


class Net:
    """Builds conv stacks with random weights (BatchNorm folded, as exported models have it)."""

    def __init__(self, seed):
        self.nodes, self.inits, self.n, self.params, self.flops = [], [], 0, 0, 0
        self.rng = np.random.default_rng(seed)

    def name(self, p):
        self.n += 1
        return f"{p}{self.n}"

    def conv(self, x, cin, cout, k, s, hw, act=True, bias=None, wscale=1.0):
        w = (self.rng.standard_normal((cout, cin, k, k)) * wscale * np.sqrt(1.0 / (cin * k * k))).astype(np.float32)
        b = np.zeros(cout, np.float32) if bias is None else np.asarray(bias, np.float32)
        wn, bn, y = self.name("w"), self.name("b"), self.name("c")
        self.inits += [nh.from_array(w, wn), nh.from_array(b, bn)]
        p = k // 2
        self.nodes.append(h.make_node("Conv", [x, wn, bn], [y], kernel_shape=[k, k], strides=[s, s],
                                      pads=[p, p, p, p]))
        oh, ow = hw[0] // s, hw[1] // s
        self.params += w.size + b.size
        self.flops += 2 * w.size * oh * ow
        if act:  # SiLU as exported: x * sigmoid(x)
            sg, o = self.name("sg"), self.name("a")
            self.nodes.append(h.make_node("Sigmoid", [y], [sg]))
            self.nodes.append(h.make_node("Mul", [y, sg], [o]))
            y = o
        return y, (oh, ow)

    def csp(self, x, c, n, hw):
        a, _ = self.conv(x, c, c // 2, 1, 1, hw)
        b, _ = self.conv(x, c, c // 2, 1, 1, hw)
        for _ in range(n):
            t, _ = self.conv(a, c // 2, c // 2, 1, 1, hw)
            t, _ = self.conv(t, c // 2, c // 2, 3, 1, hw)
            s = self.name("res")
            self.nodes.append(h.make_node("Add", [a, t], [s]))
            a = s
        cat = self.name("cat")
        self.nodes.append(h.make_node("Concat", [a, b], [cat], axis=1))
        y, _ = self.conv(cat, c, c, 1, 1, hw)
        return y

    def model(self, name, inputs, outputs):
        g = h.make_graph(self.nodes, name, inputs, outputs, initializer=self.inits)
        return h.make_model(g, opset_imports=[h.make_opsetid("", OPSET)])


def det_bench():
    """YOLOX-L-like: CSP backbone 64..1024 wide, decoupled heads at strides 8/16/32."""
    net = Net(1)
    x, hw = net.conv("images", 3, 64, 3, 2, (640, 640))
    feats = []
    for cin, cout, n in ((64, 128, 3), (128, 256, 9), (256, 512, 9), (512, 1024, 3)):
        x, hw = net.conv(x, cin, cout, 3, 2, hw)
        x = net.csp(x, cout, n, hw)
        if cout == 1024:  # stands in for SPP and the PAFPN's top-down convs
            x, _ = net.conv(x, 1024, 1024, 3, 1, hw)
            x, _ = net.conv(x, 1024, 1024, 3, 1, hw)
        if cout >= 256:
            feats.append((x, cout, hw))
    outs = []
    for f, c, fhw in feats:
        s, _ = net.conv(f, c, 256, 1, 1, fhw)
        cl, _ = net.conv(s, 256, 256, 3, 1, fhw)
        cl, _ = net.conv(cl, 256, 256, 3, 1, fhw)
        # Biases that make the random net behave like a detector on a one-dancer video: person is
        # always the best class, and only one cell (at stride 32) has any objectness, so the
        # keypoint model runs once per frame, as it would for the real models on a dance video.
        cls, _ = net.conv(cl, 256, 80, 1, 1, fhw, act=False, bias=[10.0] + [-10.0] * 79,
                         wscale=0.0)
        rg, _ = net.conv(s, 256, 256, 3, 1, fhw)
        rg, _ = net.conv(rg, 256, 256, 3, 1, fhw)
        reg, _ = net.conv(rg, 256, 4, 1, 1, fhw, act=False, bias=[0.0, 0.0, 1.0, 2.0], wscale=0.0)
        obj, _ = net.conv(rg, 256, 1, 1, 1, fhw, act=False, bias=[-30.0], wscale=0.0)
        if fhw == (20, 20):
            lift = np.zeros((1, 1, 20, 20), np.float32)
            lift[0, 0, 10, 10] = 60.0
            ln, lifted = net.name("lift"), net.name("obj")
            net.nodes += [const(ln, lift), h.make_node("Add", [obj, ln], [lifted])]
            obj = lifted
        so, sc = net.name("so"), net.name("sc")
        net.nodes += [h.make_node("Sigmoid", [obj], [so]), h.make_node("Sigmoid", [cls], [sc])]
        cat, shp, r = net.name("hc"), net.name("shape"), net.name("flat")
        net.nodes.append(h.make_node("Concat", [reg, so, sc], [cat], axis=1))
        net.nodes.append(const(shp, np.array([1, 85, fhw[0] * fhw[1]], np.int64)))
        net.nodes.append(h.make_node("Reshape", [cat, shp], [r]))
        outs.append(r)
    net.nodes.append(h.make_node("Concat", outs, ["all"], axis=2))
    net.nodes.append(h.make_node("Transpose", ["all"], ["output"], perm=[0, 2, 1]))
    m = net.model("det_bench", [h.make_tensor_value_info("images", T.FLOAT, [1, 3, 640, 640])],
                  [h.make_tensor_value_info("output", T.FLOAT, [1, 8400, 85])])
    return m, net


def pose_bench():
    """RTMPose-L-like: CSPNeXt-ish backbone to stride 32, 7x7 conv to 133 maps, MLP + SimCC heads."""
    net = Net(2)
    x, hw = net.conv("input", 3, 64, 3, 2, (384, 288))
    for cin, cout, n in ((64, 128, 3), (128, 256, 6), (256, 512, 6), (512, 1024, 3)):
        x, hw = net.conv(x, cin, cout, 3, 2, hw)
        x = net.csp(x, cout, n, hw)
    maps, _ = net.conv(x, 1024, 133, 7, 1, hw, act=False)
    net.nodes.append(const("fshape", np.array([1, 133, hw[0] * hw[1]], np.int64)))
    net.nodes.append(h.make_node("Reshape", [maps, "fshape"], ["flat"]))

    def linear(x, cin, cout, out=None):
        w = (net.rng.standard_normal((cin, cout)) * np.sqrt(1.0 / cin)).astype(np.float32)
        wn, y = net.name("lw"), out or net.name("l")
        net.inits.append(nh.from_array(w, wn))
        net.nodes.append(h.make_node("MatMul", [x, wn], [y]))
        net.params += w.size
        net.flops += 2 * w.size * 133
        return y

    t = linear("flat", hw[0] * hw[1], 256)
    u = linear(t, 256, 1024)  # gated attention unit, reduced to its gated MLP
    sg, g = net.name("sg"), net.name("g")
    net.nodes += [h.make_node("Sigmoid", [u], [sg]), h.make_node("Mul", [u, sg], [g])]
    t2 = linear(g, 1024, 256)
    linear(t2, 256, 576, "simcc_x")
    linear(t2, 256, 768, "simcc_y")
    m = net.model("pose_bench", [h.make_tensor_value_info("input", T.FLOAT, [1, 3, 384, 288])],
                  [h.make_tensor_value_info("simcc_x", T.FLOAT, [1, 133, 576]),
                   h.make_tensor_value_info("simcc_y", T.FLOAT, [1, 133, 768])])
    return m, net


def main():
    mode, out = sys.argv[1], sys.argv[2]
    if mode == "test":
        onnx.save(det_test(), f"{out}/det_test.onnx")
        onnx.save(pose_test(), f"{out}/pose_test.onnx")
    elif mode == "bench":
        for fname, (m, net) in (("yolox_l.onnx", det_bench()), ("dw-ll_ucoco_384.onnx", pose_bench())):
            onnx.checker.check_model(m)
            onnx.save(m, f"{out}/{fname}")
            print(f"{fname}: {net.params / 1e6:.1f} M params, {net.flops / 1e9:.1f} GFLOPs")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
