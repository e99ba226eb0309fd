# A stand-in for ComfyUI's main.py: the same command line, every custom_nodes/*/__init__.py
# imported against the stand-in folder_paths, and /system_stats and /object_info over HTTP.
import argparse
import glob
import importlib.util
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import folder_paths

parser = argparse.ArgumentParser()
parser.add_argument("--listen", required=True)
parser.add_argument("--port", type=int, required=True)
args, extra = parser.parse_known_args()

# ComfyUI has listed the detection folder by the time custom nodes load; checkpoints are
# listed only later, so they show whether the shared extension set was changed.
folder_paths.get_filename_list("detection")

here = os.path.dirname(os.path.abspath(__file__))
node_classes = {}
for init in sorted(glob.glob(os.path.join(here, "custom_nodes", "*", "__init__.py"))):
    name = os.path.basename(os.path.dirname(init))
    spec = importlib.util.spec_from_file_location(name, init)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    node_classes.update(getattr(module, "NODE_CLASS_MAPPINGS", {}))


def loader(field, folder):
    return {"input": {"required": {field: [folder_paths.get_filename_list(folder)]}}}


def object_info():
    info = {
        "OnnxDetectionModelLoader": loader("model", "detection"),
        "CheckpointLoaderSimple": loader("ckpt_name", "checkpoints"),
    }
    for name, cls in node_classes.items():
        info[name] = {
            "input": cls.INPUT_TYPES(),
            "output": list(cls.RETURN_TYPES),
            "output_node": cls.OUTPUT_NODE,
            "function": cls.FUNCTION,
            "category": cls.CATEGORY,
        }
    return info


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/system_stats":
            body = {"system": {"argv": sys.argv, "prefix": sys.prefix}}
        elif self.path == "/object_info":
            body = object_info()
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_):
        pass


print(f"fake ComfyUI on {args.listen}:{args.port}, extra {extra}", flush=True)
ThreadingHTTPServer((args.listen, args.port), Handler).serve_forever()
