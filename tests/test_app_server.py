"""The app as a live server on 127.0.0.1, driven by gradio_client through every endpoint:
good input, bad input (plain errors or clamped results; the server keeps serving), the upload
cap, and 16 parallel clients (no errors, same seed → identical bytes)."""

import hashlib
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from test_app_handlers import bad_images, good_images

CAP = "this bird has a red crown, blue wings and a yellow belly"
CAP_B = "a bird with a black head, white wings and an orange breast"
FIXED = {"/generate": ["caption", "n", "seed"],
         "/interpolate_text": ["caption_a", "caption_b", "beta", "seed"],
         "/interpolate_noise": ["caption", "seed_a", "seed_b", "alpha"],
         "/style_transfer": ["image", "captions"],
         "/match_scores": ["image", "captions"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    import app
    from t2i_core import T2IPipeline

    demo = app.build_demo(T2IPipeline.from_preset("tiny", seed=0))
    _, url, _ = app.launch(demo, server_name="127.0.0.1", server_port=free_port(),
                           prevent_thread_lock=True, quiet=True)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


def connect(url, downloads):
    from gradio_client import Client

    # ssl_verify=False: plain http on loopback; it spares httpx loading the CA bundle (~0.1 s of
    # CPU) for every request the client makes.
    return Client(url, verbose=False, download_files=str(downloads), analytics_enabled=False,
                  ssl_verify=False)


@pytest.fixture(scope="module")
def client(server, downloads):
    return connect(server, downloads)


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "bird.png"
    Image.open(__import__("io").BytesIO(good_images()["rgba.png"])).save(path)
    return str(path)


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def png_64(path) -> bool:
    with Image.open(path) as im:
        return im.format == "PNG" and im.size == (64, 64)


def test_every_fixed_endpoint_has_its_parameters(client):
    """The parameters of DESIGN.md §4, then an optional ``model`` (default: the first model)."""
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    for name, params in FIXED.items():
        got = endpoints[name]["parameters"]
        assert [p["parameter_name"] for p in got] == params + ["model"]
        assert got[-1]["parameter_has_default"] and got[-1]["parameter_default"] == "birds"


@pytest.fixture(scope="module")
def two_models():
    """A server with a birds and a flowers model (tiny, different weights) and its client."""
    import app
    from t2i_core import T2IPipeline

    flowers = T2IPipeline.from_preset("tiny", seed=1)
    flowers.extra["dataset"] = {"domain": "flowers"}
    demo = app.build_demo({"birds": T2IPipeline.from_preset("tiny", seed=0), "flowers": flowers})
    _, url, _ = app.launch(demo, server_name="127.0.0.1", server_port=free_port(),
                           prevent_thread_lock=True, quiet=True)
    yield demo, url
    demo.close()


def test_model_selector_old_calls_get_birds_and_model_picks(two_models, tmp_path):
    from gradio_client.exceptions import AppError

    demo, url = two_models
    client = connect(url, tmp_path)
    old = client.predict(CAP, 1, 3, api_name="/generate")  # a call written before the selector
    birds = client.predict(CAP, 1, 3, "birds", api_name="/generate")
    flowers = client.predict(CAP, 1, 3, "flowers", api_name="/generate")
    assert sha(old[0]["image"]) == sha(birds[0]["image"]) != sha(flowers[0]["image"])
    frame = client.predict(CAP, CAP_B, 0.5, 0, model="flowers", api_name="/interpolate_text")
    assert png_64(frame)
    with pytest.raises(AppError, match="unknown model"):
        client.predict(CAP, 1, 3, "fish", api_name="/generate")
    assert client.predict(CAP, 1, 0, api_name="/generate")  # the server keeps serving


def test_model_selector_switches_captions_and_examples():
    import app
    from t2i_core import T2IPipeline
    from t2i_core import app_content as C

    flowers = T2IPipeline.from_preset("tiny", seed=1)
    flowers.extra["dataset"] = {"domain": "flowers"}
    ui = app._UI({"birds": T2IPipeline.from_preset("tiny"), "flowers": flowers}, {})
    ui.texts = [(None, "caption"), (None, "captions")]
    ui.example_blocks = [(None, "birds"), (None, "flowers")]
    values = ui.switch("flowers")
    assert values[0]["value"] == C.FLOWER_EXAMPLE_CAPTIONS[0] and "petals" in values[1]["value"]
    assert [v["visible"] for v in values[2:]] == [False, True]
    assert ui.switch("birds")[0]["value"] == C.EXAMPLE_CAPTIONS[0]


def test_generate(client):
    items = client.predict(CAP, 3, 5, api_name="/generate")
    assert [it["caption"] for it in items] == ["seed 5", "seed 6", "seed 7"]
    assert all(png_64(it["image"]) for it in items)
    again = client.predict(caption=CAP, n=1, seed=6, api_name="/generate")
    assert sha(again[0]["image"]) == sha(items[1]["image"])


def test_sliders_and_clamping(client):
    frame = client.predict(CAP, CAP_B, 0.3, 2, api_name="/interpolate_text")
    assert png_64(frame)
    end = client.predict(CAP, CAP_B, 1.0, 2, api_name="/interpolate_text")
    assert sha(client.predict(CAP, CAP_B, 7, 2, api_name="/interpolate_text")) == sha(end)
    assert png_64(client.predict(CAP, 0, 1, 0.5, api_name="/interpolate_noise"))
    start = client.predict(CAP, 0, 1, 0.0, api_name="/interpolate_noise")
    assert sha(client.predict(CAP, -5, 1, -2, api_name="/interpolate_noise")) == sha(start)
    assert len(client.predict(CAP, 10**6, -5, api_name="/generate")) == 16


def test_strip_endpoints(client):
    for api, args in (("/interpolate_text_strip", (CAP, CAP_B, 0, 4)),
                      ("/interpolate_noise_strip", (CAP, 0, 1, 4))):
        strip, gif = client.predict(*args, api_name=api)
        assert Image.open(strip).size[0] > 4 * 64
        assert Image.open(gif).format == "GIF"


def editor(path, cropped=None):
    """The style tab's image-editor payload: the upload and, after the crop tool, the canvas."""
    from gradio_client import handle_file

    return {"background": handle_file(str(path)), "layers": [],
            "composite": handle_file(str(cropped)) if cropped else None}


def test_style_tab_reads_the_cropped_canvas(client, tmp_path):
    """With the crop tool used, the style comes from the cropped canvas, not the whole upload."""
    whole, crop = tmp_path / "whole.png", tmp_path / "crop.png"
    Image.new("RGB", (120, 80), "navy").save(whole)
    Image.new("RGB", (40, 40), "orange").save(crop)
    from_whole = client.predict(editor(whole), CAP, api_name="/style_transfer")
    from_crop = client.predict(editor(whole, crop), CAP, api_name="/style_transfer")
    assert open(from_whole[0]["image"], "rb").read() != open(from_crop[0]["image"], "rb").read()
    from_crop_only = client.predict(editor(crop), CAP, api_name="/style_transfer")
    assert open(from_crop_only[0]["image"], "rb").read() == open(from_crop[0]["image"], "rb").read()


def test_style_transfer_and_match_scores(client, photo):
    from gradio_client import handle_file

    items = client.predict(editor(photo), f"{CAP}\n{CAP_B}", api_name="/style_transfer")
    assert [it["caption"] for it in items] == [CAP, CAP_B] and all(png_64(it["image"]) for it in items)
    chart, scores = client.predict(handle_file(photo), f"{CAP}\n{CAP_B}\na green bird",
                                   api_name="/match_scores")
    assert Image.open(chart).format == "PNG"
    assert [s["caption"] for s in scores] == [CAP, CAP_B, "a green bird"]
    assert all(0.0 <= s["score"] <= 1.0 for s in scores)


@pytest.mark.parametrize("name", sorted(bad_images()))
def test_bad_uploads_are_plain_errors(client, tmp_path, name):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    data, words = bad_images()[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(AppError, match=words):
        client.predict(handle_file(str(path)), CAP, api_name="/match_scores")


@pytest.mark.parametrize("args", [("", 1, 0), ("\U0001F426", 1, 0), (CAP, "many", 0), (CAP, [3], 0)])
def test_bad_text_and_numbers_are_plain_errors(client, args):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as excinfo:
        client.predict(*args, api_name="/generate")
    assert "Traceback" not in str(excinfo.value) and str(excinfo.value).strip()


def test_unusual_uploads_and_long_captions_work(client, tmp_path):

    for name in ("deep16.png", "cmyk.jpg", "animated.gif", "one_pixel.png"):
        path = tmp_path / name
        path.write_bytes(good_images()[name])
        assert len(client.predict(editor(str(path)), CAP, api_name="/style_transfer")) == 1
    assert len(client.predict("a red bird " * 1000, 1, 0, api_name="/generate")) == 1


def test_payload_naming_a_server_file_is_refused(server, tmp_path):
    """Handlers run with preprocess=False, so a hand-made payload naming any server path must
    not be read (raw queue protocol, as a malicious client would send it)."""
    import json
    import uuid

    import httpx

    secret = tmp_path / "secret.png"
    Image.new("RGB", (8, 8), "red").save(secret)
    base = server.rstrip("/")
    config = httpx.get(f"{base}/config").json()
    fn = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "match_scores")
    session = uuid.uuid4().hex[:10]
    httpx.post(f"{base}/gradio_api/queue/join", json={
        "data": [{"path": str(secret)}, CAP, "birds"], "fn_index": fn, "session_hash": session}).raise_for_status()
    with httpx.stream("GET", f"{base}/gradio_api/queue/data", params={"session_hash": session}) as s:
        done = next(m for m in (json.loads(line[5:]) for line in s.iter_lines() if line.startswith("data:"))
                    if m.get("msg") == "process_completed")
    assert done["success"] is False and "uploaded to this app" in done["output"]["error"]


def test_upload_cap_and_server_survives(client, tmp_path):
    from gradio_client import handle_file

    big = tmp_path / "big.png"
    big.write_bytes(good_images()["rgba.png"] + b"\0" * (11 * 1024 * 1024))
    with pytest.raises(Exception):
        client.predict(handle_file(str(big)), CAP, api_name="/match_scores")
    assert len(client.predict(CAP, 1, 0, api_name="/generate")) == 1


def test_sixteen_parallel_clients(server, downloads):
    def work(i):
        c = connect(server, downloads / f"c{i}")
        items = c.predict(CAP, 2, 3, api_name="/generate")
        frame = c.predict(CAP, 4, 9, 0.4, api_name="/interpolate_noise")
        return [sha(it["image"]) for it in items] + [sha(frame)]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(work, range(16)))
    assert all(r == results[0] for r in results)
    assert len(set(results[0])) == 3  # the two seeds and the frame really differ


def test_about_links_to_the_repository_documents_and_the_app_serves_them(server):
    import re

    import httpx

    from t2i_core import T2IPipeline
    from t2i_core import app_content as C

    about = C.about_markdown(T2IPipeline.from_preset("tiny", seed=0))
    links = re.findall(r"\]\((/gradio_api/file=[^)]+)\)", about)
    assert any(link.endswith("reports/quality/README.md") for link in links), about[:2000]
    for link in links[:3]:
        r = httpx.get(server.rstrip("/") + link)
        assert r.status_code == 200 and len(r.content) > 0, link
    # nothing outside the document folders is served
    secret = Path(C.__file__).resolve()
    assert httpx.get(server.rstrip("/") + f"/gradio_api/file={secret}").status_code != 200
