# Written by SteadyDancer Studio's bootstrap on every pod start; edits are lost.
import json
import os

import folder_paths

_ENV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "environment.json")


def _show_onnx_detection_models():
    entry = folder_paths.folder_names_and_paths.get("detection")
    if not entry or not entry[1]:
        return  # unknown folder, or no extension filter at all
    # The stock extension set is shared by every model folder: extend a copy, not the original.
    folder_paths.folder_names_and_paths["detection"] = (entry[0], set(entry[1]) | {".onnx"})
    # A list made before this ran would keep hiding the .onnx files.
    folder_paths.filename_list_cache.pop("detection", None)


_show_onnx_detection_models()


class SteadyDancerStudioEnvironment:
    """What the pod runs: each repository's checked-out commit and the lock's id."""

    RETURN_TYPES = ()
    FUNCTION = "run"
    CATEGORY = "SteadyDancer Studio"
    OUTPUT_NODE = False
    DESCRIPTION = __doc__

    @classmethod
    def INPUT_TYPES(cls):
        try:
            with open(_ENV, encoding="utf-8") as f:
                env = json.load(f)
        except (OSError, ValueError) as e:
            return {"required": {"error": ([str(e)],)}}
        required = {r["name"]: ([r["commit"]],) for r in env["repos"]}
        required["lock"] = ([env["lock"]],)
        return {"required": required}

    def run(self, **_):
        return ()


NODE_CLASS_MAPPINGS = {"SteadyDancerStudioEnvironment": SteadyDancerStudioEnvironment}
NODE_DISPLAY_NAME_MAPPINGS = {"SteadyDancerStudioEnvironment": "SteadyDancer Studio environment"}
