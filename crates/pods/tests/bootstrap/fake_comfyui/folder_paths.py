# A stand-in for ComfyUI's folder_paths with the same shapes: each folder maps to a
# (paths, extensions) tuple, the stock extension set is one object shared by several folders, and
# file lists are cached per folder until someone drops the entry.
import os
import time

base_path = os.path.dirname(os.path.abspath(__file__))
models_dir = os.path.join(base_path, "models")
supported_pt_extensions = {".ckpt", ".pt", ".bin", ".pth", ".safetensors"}

folder_names_and_paths = {
    name: ([os.path.join(models_dir, name)], supported_pt_extensions)
    for name in ("checkpoints", "diffusion_models", "detection")
}
folder_names_and_paths["configs"] = ([os.path.join(models_dir, "configs")], [".yaml"])

filename_list_cache = {}


def _scan(folder_name):
    paths, extensions = folder_names_and_paths[folder_name]
    found = set()
    for top in paths:
        for here, _dirs, files in os.walk(top):
            for name in files:
                if not extensions or os.path.splitext(name)[1].lower() in extensions:
                    found.add(os.path.relpath(os.path.join(here, name), top))
    return sorted(found)


def get_filename_list(folder_name):
    # Stricter than ComfyUI, which also rescans when a folder's mtime changes: a stale entry
    # stays until it is dropped.
    if folder_name not in filename_list_cache:
        filename_list_cache[folder_name] = (_scan(folder_name), {}, time.perf_counter())
    return list(filename_list_cache[folder_name][0])
