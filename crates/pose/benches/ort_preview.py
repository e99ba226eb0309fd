"""The same preview pipeline through onnxruntime's Python package, for the bench's comparison.

pip install onnxruntime numpy opencv-python-headless
python ort_preview.py --video V --det yolox_l.onnx --pose dw-ll_ucoco_384.onnx --every N --max-side S

Pre- and post-processing follow the Rust pipeline step by step (and DWPose's own Python, which
uses OpenCV for the resize, the affine warp and the drawing). Prints one JSON object.
"""
import argparse
import json
import math
import time

import cv2
import numpy as np
import onnxruntime as ort

MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)
COLORS = [[255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0],
          [0, 255, 0], [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255],
          [0, 0, 255], [85, 0, 255], [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85]]
LIMBS = [(1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
         (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17)]
HAND = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11),
        (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20)]
OPENPOSE_FROM_COCO = [0, 17, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3]


def grids():
    g, s = [], []
    for stride in (8, 16, 32):
        n = 640 // stride
        yy, xx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        g.append(np.stack([xx, yy], -1).reshape(-1, 2))
        s.append(np.full((n * n, 1), stride))
    return np.concatenate(g).astype(np.float32), np.concatenate(s).astype(np.float32)


GRID, STRIDE = grids()


def nms(boxes, scores, thr):
    order = scores.argsort()[::-1]
    keep = []
    areas = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    while order.size:
        i = order[0]
        keep.append(i)
        xx1 = np.maximum(boxes[i, 0], boxes[order[1:], 0])
        yy1 = np.maximum(boxes[i, 1], boxes[order[1:], 1])
        xx2 = np.minimum(boxes[i, 2], boxes[order[1:], 2])
        yy2 = np.minimum(boxes[i, 3], boxes[order[1:], 3])
        inter = np.maximum(0, xx2 - xx1 + 1) * np.maximum(0, yy2 - yy1 + 1)
        ovr = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[1:][ovr <= thr]
    return keep


def detect(sess, img, t):
    a = time.perf_counter()
    h, w = img.shape[:2]
    r = min(640 / h, 640 / w)
    padded = np.full((640, 640, 3), 114, np.uint8)
    padded[: int(h * r), : int(w * r)] = cv2.resize(img, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR)
    x = padded.transpose(2, 0, 1)[None].astype(np.float32)
    b = time.perf_counter()
    out = sess.run(None, {"images": x})[0][0]
    c = time.perf_counter()
    xy = (out[:, :2] + GRID) * STRIDE
    wh = np.exp(out[:, 2:4]) * STRIDE
    cls = out[:, 5:].argmax(1)
    score = out[:, 4] * out[:, 5:].max(1)
    m = score > 0.1
    boxes = np.concatenate([xy - wh / 2, xy + wh / 2], 1)[m] / r
    score, cls = score[m], cls[m]
    keep = nms(boxes, score, 0.45)
    dets = [(boxes[i], score[i]) for i in keep if cls[i] == 0 and score[i] > 0.3]
    d = time.perf_counter()
    t["detect_pre"] += b - a
    t["detect_infer"] += c - b
    t["detect_post"] += d - c
    return dets


def keypoints(sess, img, box, t):
    a = time.perf_counter()
    center = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], np.float32)
    w, h = (box[2] - box[0]) * 1.25, (box[3] - box[1]) * 1.25
    if w > h * 0.75:
        h = w / 0.75
    else:
        w = h * 0.75
    s = w / 288
    m = np.array([[1 / s, 0, 144 - center[0] / s], [0, 1 / s, 192 - center[1] / s]], np.float32)
    crop = cv2.warpAffine(img, m, (288, 384), flags=cv2.INTER_LINEAR)
    x = ((crop.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)[None]
    b = time.perf_counter()
    sx, sy = sess.run(None, {"input": x})
    c = time.perf_counter()
    ix, iy = sx[0].argmax(1), sy[0].argmax(1)
    score = np.minimum(sx[0].max(1), sy[0].max(1))
    loc = np.stack([ix, iy], 1).astype(np.float32) / 2
    kp = loc / np.array([288, 384]) * np.array([w, h]) + center - np.array([w, h]) / 2
    coco = np.concatenate([kp, score[:, None]], 1)
    neck = (coco[5] + coco[6]) / 2
    neck[2] = float(coco[5, 2] > 0.3 and coco[6, 2] > 0.3)
    body = np.concatenate([coco[:17], neck[None]])
    out = np.concatenate([body[OPENPOSE_FROM_COCO], coco[17:]])
    t["pose_pre"] += b - a
    t["pose_infer"] += c - b
    t["pose_post"] += time.perf_counter() - c
    return out


def draw(shape, people, t):
    a = time.perf_counter()
    canvas = np.zeros(shape, np.uint8)
    for k in people:
        for i, (p, q) in enumerate(LIMBS):
            if k[p, 2] <= 0.3 or k[q, 2] <= 0.3:
                continue
            mx, my = (k[p, 0] + k[q, 0]) / 2, (k[p, 1] + k[q, 1]) / 2
            length = math.hypot(k[p, 0] - k[q, 0], k[p, 1] - k[q, 1])
            angle = math.degrees(math.atan2(k[p, 1] - k[q, 1], k[p, 0] - k[q, 0]))
            poly = cv2.ellipse2Poly((int(mx), int(my)), (int(length / 2), 4), int(angle), 0, 360, 1)
            cv2.fillConvexPoly(canvas, poly, COLORS[i])
    canvas = (canvas * 0.6).astype(np.uint8)
    for k in people:
        for i in range(18):
            if k[i, 2] > 0.3:
                cv2.circle(canvas, (int(k[i, 0]), int(k[i, 1])), 4, COLORS[i], thickness=-1)
        for hand in (k[92:113], k[113:134]):
            for e, (p, q) in enumerate(HAND):
                if hand[p, 2] > 0.3 and hand[q, 2] > 0.3:
                    rgb = cv2.cvtColor(np.uint8([[[e / 20 * 180, 255, 255]]]), cv2.COLOR_HSV2RGB)[0, 0]
                    cv2.line(canvas, (int(hand[p, 0]), int(hand[p, 1])), (int(hand[q, 0]), int(hand[q, 1])),
                             [int(v) for v in rgb], thickness=2)
            for p in hand:
                if p[2] > 0.3:
                    cv2.circle(canvas, (int(p[0]), int(p[1])), 4, (0, 0, 255), thickness=-1)
        for p in k[24:92]:
            if p[2] > 0.3:
                cv2.circle(canvas, (int(p[0]), int(p[1])), 3, (255, 255, 255), thickness=-1)
    t["draw"] += time.perf_counter() - a
    return canvas


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--video")
    ap.add_argument("--det")
    ap.add_argument("--pose")
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--max-side", type=int, default=640)
    a = ap.parse_args()
    start = time.perf_counter()
    opts = ort.SessionOptions()
    det = ort.InferenceSession(a.det, opts, providers=["CPUExecutionProvider"])
    pose = ort.InferenceSession(a.pose, opts, providers=["CPUExecutionProvider"])
    load = time.perf_counter() - start
    t = dict.fromkeys(["decode", "detect_pre", "detect_infer", "detect_post", "pose_pre", "pose_infer",
                       "pose_post", "draw"], 0.0)
    cap = cv2.VideoCapture(a.video)
    index, frames, first, people_seen = 0, 0, None, 0
    while True:
        d = time.perf_counter()
        ok, bgr = cap.read()
        if not ok:
            break
        if index % a.every:
            index += 1
            t["decode"] += time.perf_counter() - d
            continue
        index += 1
        h, w = bgr.shape[:2]
        sc = min(1.0, a.max_side / max(h, w))
        img = cv2.cvtColor(cv2.resize(bgr, (round(w * sc), round(h * sc)), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        t["decode"] += time.perf_counter() - d
        people = [keypoints(pose, img, box, t) for box, _ in detect(det, img, t)]
        people_seen += len(people)
        draw(img.shape, people, t)
        frames += 1
        if first is None:
            first = time.perf_counter() - start
    total = time.perf_counter() - start - load
    print(json.dumps({"frames": frames, "people": people_seen, "seconds": total, "load": load,
                      "first_frame": first, "stages": t, "ort": ort.__version__}))


if __name__ == "__main__":
    main()
