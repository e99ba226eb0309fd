#![allow(clippy::unwrap_used)]
use super::*;
use crate::Manifest;
use serde_json::json;

fn info() -> Value {
    json!({
        "Load": {"input": {"required": {"image": [["ref.png"], {"image_upload": true}]},
                           "hidden": {"unique_id": "UNIQUE_ID"}},
                 "output": ["IMAGE", "INT"]},
        "Sample": {"input": {"required": {
                        "image": ["IMAGE"],
                        "steps": ["INT", {"min": 1, "max": 50}],
                        "mode": ["COMBO", {"options": ["fast", "slow"]}]},
                    "optional": {"scale": ["FLOAT", {"min": 0.0, "max": 2.0}]}},
                   "output": ["IMAGE"]},
        "Save": {"input": {"required": {
                        "images": ["IMAGE"],
                        "format": [["video/h264-mp4", "image/gif"], {"formats": {
                            "video/h264-mp4": [["crf", "INT", {"min": 0, "max": 100}],
                                               ["pix_fmt", ["yuv420p", "yuv420p10le"]]]}}]}},
                 "output": []}
    })
}

fn good() -> Value {
    json!({
        "1": {"class_type": "Load", "inputs": {"image": "ref.png"}},
        "2": {"class_type": "Sample", "inputs": {"image": ["1", 0], "steps": 4, "mode": "fast"}},
        "3": {"class_type": "Save", "inputs": {"images": ["2", 0], "format": "video/h264-mp4",
                                               "crf": 19, "pix_fmt": "yuv420p"}}
    })
}

fn one(workflow: &Value) -> Problem {
    let mut p = check_workflow(workflow, &info(), &[]);
    assert_eq!(p.len(), 1, "{p:?}");
    p.remove(0)
}

#[test]
fn a_matching_workflow_has_no_problems() {
    assert_eq!(check_workflow(&good(), &info(), &[]), vec![]);
    assert!(problems_to_result("w", &[]).is_ok());
}

#[test]
fn each_mistake_names_node_input_and_what_to_do() {
    let mut w = good();
    w["2"]["inputs"]["mode"] = json!("medium");
    let p = one(&w);
    assert_eq!((p.node.as_str(), p.input.as_deref()), ("2", Some("mode")));
    assert!(
        p.to_string().contains(
            "node 2 (Sample) input mode: \"medium\" is not one of the choices: fast, slow"
        ),
        "{p}"
    );

    let mut w = good();
    w["2"]["inputs"]["steps"] = json!(99);
    assert!(one(&w).message.contains("above the maximum 50"));

    let mut w = good();
    w["2"]["inputs"]["image"] = json!(["1", 1]);
    assert!(
        one(&w)
            .message
            .contains("type INT, but takes IMAGE (output 1 of node 1, Load)")
    );

    let mut w = good();
    w["2"]["inputs"]["image"] = json!(["1", 5]);
    assert!(one(&w).message.contains("only 2 outputs"));

    let mut w = good();
    w["2"]["inputs"].as_object_mut().unwrap().remove("steps");
    assert!(one(&w).message.contains("required but not set"));

    let mut w = good();
    w["2"]["inputs"]["stepz"] = json!(4);
    let p = one(&w);
    assert!(
        p.message
            .contains("not an input of this node; it has: image, mode, steps, scale"),
        "{p}"
    );

    let mut w = good();
    w["1"]["inputs"]["unique_id"] = json!("1");
    assert!(one(&w).message.contains("hidden"));

    let mut w = good();
    w["3"]["inputs"]["crf"] = json!(101);
    assert!(one(&w).message.contains("maximum 100"));

    // Format widgets exist only for the format that lists them.
    let mut w = good();
    w["3"]["inputs"]["format"] = json!("image/gif");
    assert_eq!(check_workflow(&w, &info(), &[]).len(), 2);

    let mut w = good();
    w["2"]["class_type"] = json!("WanVideoSampler");
    assert!(
        one(&w)
            .message
            .contains("no such node (from ComfyUI-WanVideoWrapper")
    );
}

#[test]
fn uploaded_file_names_are_not_held_to_the_servers_list() {
    let mut w = good();
    w["1"]["inputs"]["image"] = json!("photo (1).png");
    assert_eq!(check_workflow(&w, &info(), &[]).len(), 1);
    let upload = Target {
        node: "1".into(),
        field: "image".into(),
    };
    assert_eq!(check_workflow(&w, &info(), &[upload]), vec![]);
}

#[test]
fn problems_become_one_error_with_a_code() {
    let mut w = good();
    w["2"]["inputs"]["mode"] = json!("medium");
    w["2"]["inputs"]["steps"] = json!(0);
    let e = problems_to_result("Test", &check_workflow(&w, &info(), &[])).unwrap_err();
    assert_eq!(e.code(), WORKFLOW_MISMATCH);
    assert!(
        e.message()
            .starts_with("The workflow Test does not fit the server's nodes (2 problems): node 2"),
        "{}",
        e.message()
    );
    assert!(e.message().contains("lock.toml"));
}

#[test]
fn a_manifests_parameter_ranges_must_fit_the_node() {
    let workflow = serde_json::to_string(&good()).unwrap();
    let manifest = |params: &str| {
        let toml = format!(
            "name = \"T\"\nworkflow = \"w.json\"\n[inputs]\nreference_image = {{ node = \"1\", \
             field = \"image\" }}\n[params]\n{params}\n[[outputs]]\nnode = \"3\"\n\
             kind = \"video\"\n"
        );
        Manifest::from_strs(&toml, &workflow).unwrap()
    };
    let fits =
        manifest("steps = { node = \"2\", field = \"steps\", default = 4, min = 1, max = 50 }");
    assert!(fits.check_against(&info()).is_ok());
    let wide =
        manifest("steps = { node = \"2\", field = \"steps\", default = 4, min = 0, max = 60 }");
    let p = wide.problems_against(&info()).unwrap();
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].message
            .contains("parameter steps allows 0, below the node's minimum 1"),
        "{}",
        p[0]
    );
    let open = manifest("steps = { node = \"2\", field = \"steps\", default = 4, min = 1 }");
    assert!(
        open.problems_against(&info()).unwrap()[0]
            .message
            .contains("set max = 50")
    );
    let decimals = manifest("steps = { node = \"2\", field = \"steps\", default = 4.0 }");
    let p = decimals.problems_against(&info()).unwrap();
    assert!(
        p.iter().any(|p| p.message.contains("whole numbers")),
        "{p:?}"
    );
    // The default is what gets queued, so a default off the node's choices is caught.
    let combo = manifest("mode = { node = \"2\", field = \"mode\", default = \"medium\" }");
    let e = combo.check_against(&info()).unwrap_err();
    assert!(
        e.message().contains("\"medium\" is not one of the choices"),
        "{}",
        e.message()
    );
}
