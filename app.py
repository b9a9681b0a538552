"""GAN-CLS Explorer: the Gradio app (layout and wiring only; handlers in t2i_core/app_handlers.py,
examples and the About text in t2i_core/app_content.py).

    python app.py [--weights DIR] [--host H] [--port N] [--tiny]

Every model event has the ``api_name`` of DESIGN.md §4 (``/generate``, ``/interpolate_text``,
``/interpolate_noise``, ``/style_transfer``, ``/match_scores``) and shares
``concurrency_id="model"``. Events run with ``preprocess=False``: the handlers receive the raw
values (including the upload's file payload, never decoded by Gradio) and validate everything
themselves, so bad input always gets a plain message. Importing this module loads no model.
"""

from __future__ import annotations

import argparse
import inspect
import os
import socket
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Idle OpenMP threads sleep instead of spinning: batch-1 frames were 5-7x faster on a busy 2-core
# box, ~1.5x slower on a quiet one (benchmarks/README.md §3). Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import gradio as gr  # noqa: E402
from PIL import Image  # noqa: E402

from t2i_core import app_content as C  # noqa: E402
from t2i_core import app_handlers as H  # noqa: E402

MAX_FILE_SIZE = "10mb"
CSS = """
.pixelated img { image-rendering: pixelated; }
/* 64 px frames drawn at the box's size, nearest-neighbour (the PNG itself stays 64x64) */
.enlarge img { width: 100% !important; height: 100% !important; object-fit: contain; }
/* the generate gallery grows with n instead of scrolling inside a fixed box */
#gen-gallery, #gen-gallery .wrap, #gen-gallery .gallery-container { height: auto !important; }
#gen-gallery .grid-wrap { max-height: none !important; height: auto !important; overflow: visible !important; }
/* after an error the previous result stays visible under a small badge (the message is in the toast) */
.wrap:has(> .error) { background: transparent !important; pointer-events: none;
                      align-items: flex-start !important; justify-content: flex-end !important; }
"""
MODEL = dict(concurrency_id="model", concurrency_limit=1, preprocess=False)
LIVE = dict(MODEL, trigger_mode="always_last", show_progress="hidden")


def _upload(label: str) -> gr.Image:
    return gr.Image(label=label, type="filepath", sources=["upload", "clipboard"], height=256,
                    format="png", elem_classes="pixelated")


def _photo_editor(label: str) -> gr.ImageEditor:
    """Upload with a crop tool: the user chooses the region S reads (the centred square of the
    upload, or of the cropped region)."""
    return gr.ImageEditor(label=label, type="filepath", sources=["upload", "clipboard"], height=320,
                          format="png", transforms=["crop"], brush=False, eraser=False,
                          layers=False, elem_id="style-photo")


def _output_image(label: str, format: str = "png", **kw) -> gr.Image:
    return gr.Image(label=label, format=format, interactive=False, elem_classes=["pixelated", "enlarge"], **kw)


def _bind(ui, fn, **bound):
    """The event handler of ``fn(pipe, *inputs)``: its last input is the model selector. The API
    keeps ``fn``'s parameters and gains a trailing optional ``model`` (default: the first model)."""
    params = [p for p in list(inspect.signature(fn).parameters.values())[1:] if p.name not in bound]
    default = next(iter(ui.pipes))

    def handler(*args):
        *args, model = args if len(args) > len(params) else (*args, default)
        return fn(H.pick_model(ui.pipes, model), *args, **bound)

    handler.__signature__ = inspect.Signature(
        params + [inspect.Parameter("model", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)])
    handler.__name__ = fn.__name__
    return handler


class _UI:
    """What the tabs share: the models, the selector, and what follows the selected domain (the
    text fields' default captions, the example blocks)."""

    def __init__(self, pipes: dict, examples: dict):
        self.pipes, self.examples = pipes, examples
        self.domains = {name: C.domain_of(pipe) for name, pipe in pipes.items()}
        self.first = self.domains[next(iter(pipes))]
        self.selector = None
        self.texts, self.example_blocks = [], []

    def defaults(self, domain: str) -> dict:
        caps = C.example_captions(domain)
        ex = self.examples.get(domain) or []
        return {"caption": caps[0], "caption_b": caps[1], "captions": "\n".join(caps[:3]),
                "probe": ex[0][2] if ex else "\n".join(caps)}

    def text(self, key: str, **kw) -> gr.Textbox:
        box = gr.Textbox(value=self.defaults(self.first)[key], **kw)
        self.texts.append((box, key))
        return box

    def examples_per_domain(self, make) -> None:
        """``make(domain, examples)`` inside a column shown only while that domain is selected."""
        for domain in dict.fromkeys(self.domains.values()):
            with gr.Column(visible=domain == self.first) as col:
                make(domain, self.examples.get(domain) or [])
            self.example_blocks.append((col, domain))

    def switch(self, model):
        """The selector's change: every text field and example block follows the model's domain."""
        domain = self.domains.get(model, self.first)
        values = self.defaults(domain)
        return ([gr.update(value=values[key]) for _, key in self.texts]
                + [gr.update(visible=d == domain) for _, d in self.example_blocks])


def _generate_tab(ui) -> None:
    with gr.Row():
        caption = ui.text("caption", label="Caption (Enter generates)", lines=1, scale=4,
                          max_length=H.MAX_RAW_CAPTION, elem_id="gen-caption")
        with gr.Column(scale=1, min_width=200):
            n = gr.Slider(1, H.MAX_N, value=4, step=1, label="Images (n)")
            seed = gr.Number(value=0, precision=0, label="Seed (image i uses seed + i)")
    ui.examples_per_domain(lambda d, _: gr.Examples(C.example_captions(d), inputs=[caption],
                                                     label="Example captions"))
    button = gr.Button("Generate", variant="primary", elem_id="gen-button")
    gallery = gr.Gallery(label="Generated images", columns=8, height="auto", format="png",
                         elem_id="gen-gallery", elem_classes="pixelated")
    gr.on([button.click, caption.submit], _bind(ui, H.generate),
          inputs=[caption, n, seed, ui.selector], outputs=gallery, api_name="generate", **MODEL)


def _strip_row(label: str):
    with gr.Row():
        steps = gr.Slider(*H.STRIP_STEPS, value=8, step=1, label="Frames in the strip")
        button = gr.Button(f"Make the {label} strip and GIF")
    strip = _output_image("Strip (left → right)", height=160)
    with gr.Row():
        gif = gr.File(label="Animated GIF (download)", scale=1)
        anim = _output_image("Animated GIF", height=192, format="gif", scale=1)
    gif.change(lambda path: path, inputs=gif, outputs=anim, show_progress="hidden", queue=False,
               api_visibility="private")                     # the page shows the GIF it offers
    return steps, button, strip, gif


def _text_tab(ui, demo) -> None:
    gr.Markdown("Fixed noise z, the text embedding slides from caption A (β = 0) to caption B "
                "(β = 1): h = (1 − β) φ(A) + β φ(B) (§5.3).")
    with gr.Row():
        a = ui.text("caption", label="Caption A (Enter redraws)", lines=1, max_length=H.MAX_RAW_CAPTION)
        b = ui.text("caption_b", label="Caption B (Enter redraws)", lines=1, max_length=H.MAX_RAW_CAPTION)
    with gr.Row():
        with gr.Column():
            seed = gr.Number(value=0, precision=0, label="Seed (the fixed z)")
            beta = gr.Slider(0, 1, value=0.5, step=0.01, label="β (A → B)", elem_id="text-beta")
        frame = _output_image("Frame", height=256, elem_id="text-frame")
    steps, button, strip, gif = _strip_row("text")
    gr.on([beta.change, a.submit, b.submit, seed.submit, demo.load],  # the first frame on page load
          _bind(ui, H.text_frame), inputs=[a, b, beta, seed, ui.selector], outputs=frame,
          api_name="interpolate_text", **LIVE)
    button.click(_bind(ui, H.text_strip), inputs=[a, b, seed, steps, ui.selector],
                 outputs=[strip, gif], api_name="interpolate_text_strip", **MODEL)


def _noise_tab(ui, demo) -> None:
    gr.Markdown("Fixed caption, the noise slides (spherically) from seed A's z (α = 0) to "
                "seed B's z (α = 1) (§5.3): what changes is style — pose and background.")
    caption = ui.text("caption", label="Caption (Enter redraws)", lines=1, max_length=H.MAX_RAW_CAPTION)
    with gr.Row():
        with gr.Column():
            with gr.Row():
                seed_a = gr.Number(value=0, precision=0, label="Seed A")
                seed_b = gr.Number(value=1, precision=0, label="Seed B")
            alpha = gr.Slider(0, 1, value=0.5, step=0.01, label="α (seed A → seed B)",
                              elem_id="noise-alpha")
        frame = _output_image("Frame", height=256, elem_id="noise-frame")
    steps, button, strip, gif = _strip_row("noise")
    gr.on([alpha.change, caption.submit, seed_a.submit, seed_b.submit, demo.load],
          _bind(ui, H.noise_frame), inputs=[caption, seed_a, seed_b, alpha, ui.selector],
          outputs=frame, api_name="interpolate_noise", **LIVE)
    button.click(_bind(ui, H.noise_strip), inputs=[caption, seed_a, seed_b, steps, ui.selector],
                 outputs=[strip, gif], api_name="interpolate_noise_strip", **MODEL)


def _style_tab(ui) -> None:
    gr.Markdown("The style encoder reads the photo's style ŝ = S(x) (birds: pose and background; "
                "flowers: layout and backdrop) and the generator redraws it with each caption: "
                "x̂ = G(ŝ, φ(t)) (§4.4). The photo's **centred square** is read (the longer side's "
                "margins are cut off), resized to 64×64: crop around the bird or flower with the "
                "crop tool of the upload box to choose another region.")
    with gr.Row():
        with gr.Column():
            image = _photo_editor("Photo of a bird or flower (crop tool: which region S reads)")
            captions = ui.text("captions", label="Captions (one per line)", lines=4)
            button = gr.Button("Transfer style", variant="primary")
        gallery = gr.Gallery(label="Redrawn with each caption", columns=3, height="auto",
                             format="png", elem_classes="pixelated")

    def examples(domain, renders):
        if renders:
            gr.Examples([[path] for path, _, _ in renders], inputs=[image],
                        label=f"Example {C.DOMAIN_WORDS[domain][2]} renders")
    ui.examples_per_domain(examples)
    button.click(_bind(ui, H.style_transfer), inputs=[image, captions, ui.selector],
                 outputs=gallery, api_name="style_transfer", **MODEL)


def _probe_tab(ui) -> None:
    gr.Markdown("The matching-aware discriminator scores how well an image fits each caption: "
                "sigmoid(D(x, φ(t))) (§4.2). Which caption matches?")
    with gr.Row():
        with gr.Column():
            image = _upload("Image")
            captions = ui.text("probe", label="Captions (one per line)", lines=4)
            button = gr.Button("Score captions", variant="primary")
        with gr.Column():
            chart = _output_image("D's score per caption")
            scores = gr.JSON(label="Scores")

    def examples(domain, renders):
        if renders:
            gr.Examples([[path, probe] for path, _, probe in renders], inputs=[image, captions],
                        label=f"Example {C.DOMAIN_WORDS[domain][2]} renders (the first caption is the right one)")
    ui.examples_per_domain(examples)
    known = {}
    for renders in ui.examples.values():  # the bundled renders: the page says where the right caption ranked
        for path, right, _ in renders:
            with Image.open(path) as im:
                known[H.image_key(im)] = right
    button.click(_bind(ui, H.match_scores, known=known), inputs=[image, captions, ui.selector],
                 outputs=[chart, scores], api_name="match_scores", **MODEL)


def build_demo(pipelines) -> gr.Blocks:
    """The whole UI around one ``T2IPipeline`` or several (``{"birds": pipe, "flowers": pipe}``):
    with several, a selector in the header switches every tab between them."""
    pipes = dict(pipelines) if isinstance(pipelines, dict) else {C.domain_of(pipelines): pipelines}
    if not pipes:
        raise ValueError("build_demo needs at least one pipeline")
    folder = tempfile.mkdtemp(prefix="t2i_app_examples_")
    domains = dict.fromkeys(C.domain_of(p) for p in pipes.values())
    ui = _UI(pipes, {d: C.example_renders(folder, domain=d) for d in domains})
    first = next(iter(pipes.values()))
    with gr.Blocks(title="GAN-CLS Explorer", delete_cache=(1800, 3600)) as demo:
        names = "; ".join(f"{name}: {C.model_name(p)}" for name, p in pipes.items())
        gr.Markdown("# GAN-CLS Explorer\nText-to-image synthesis after Reed et al. (ICML 2016) — "
                    f"model{'s' if len(pipes) > 1 else ''}: {names}")
        ui.selector = gr.Dropdown(list(pipes), value=next(iter(pipes)), label="Model (every tab)",
                                  visible=len(pipes) > 1, elem_id="model-select")
        if any(p.random_weights for p in pipes.values()):
            gr.Markdown("**Random weights** (`--tiny`): the pictures are meaningless until "
                        "trained weights are loaded; everything else works.")
        with gr.Tab("Generate"):
            _generate_tab(ui)
        with gr.Tab("Text interpolation"):
            _text_tab(ui, demo)
        with gr.Tab("Noise interpolation"):
            _noise_tab(ui, demo)
        with gr.Tab("Style transfer"):
            _style_tab(ui)
        with gr.Tab("Discriminator probe"):
            _probe_tab(ui)
        with gr.Tab("About"):
            gr.Markdown(C.about_markdown(first))
        ui.selector.change(ui.switch, inputs=ui.selector,
                           outputs=[box for box, _ in ui.texts] + [col for col, _ in ui.example_blocks],
                           queue=False, api_visibility="private")
    demo.queue(max_size=64)
    return demo


def launch(demo: gr.Blocks, **kwargs):
    """``demo.launch`` with this app's settings (upload cap, CSS); kwargs override."""
    settings = dict(max_file_size=MAX_FILE_SIZE, css=CSS, footer_links=["api", "settings"],
                    allowed_paths=C.doc_paths(Path(__file__).resolve().parent))  # About's links
    settings.update(kwargs)
    return demo.launch(**settings)


def free_port(host: str, port: int, tries: int = 20) -> int | None:
    """``port`` if nothing listens there, else the next free one of the following ``tries``."""
    for candidate in range(port, min(port + tries, 65536)):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            try:
                sock.bind((host, candidate))
            except OSError:
                continue
            return candidate
    return None


def default_port() -> int:
    """``GRADIO_SERVER_PORT`` when set (Gradio's own variable), else 7860."""
    raw = os.environ.get("GRADIO_SERVER_PORT", "7860")
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"error: GRADIO_SERVER_PORT must be a port number, got {raw!r}") from None


def bundled_models() -> dict:
    """``{"birds": ..., "flowers": ...}``: the bundled models that are present (birds required)."""
    from t2i_core.errors import UserError
    from t2i_core.pipeline import T2IPipeline

    pipes = {"birds": T2IPipeline.from_pretrained(None)}
    flowers = Path(__file__).resolve().parent / "weights" / "synthflowers"
    if (flowers / "config.json").is_file():
        try:
            pipes["flowers"] = T2IPipeline.from_pretrained(flowers)
        except UserError as exc:  # the birds still work
            print(f"warning: the flowers model is not loaded: {exc}", file=sys.stderr)
    return pipes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="GAN-CLS Explorer web app")
    parser.add_argument("--weights", default=None,
                        help="open this one weights folder (default: the bundled models, "
                             "weights/synthbirds and weights/synthflowers, with a selector)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: all)")
    parser.add_argument("--port", type=int, default=None,
                        help="port to listen on (default: $GRADIO_SERVER_PORT or 7860; the next free "
                             "one when it is taken)")
    parser.add_argument("--tiny", action="store_true", help="random-weight tiny model (a fast demo)")
    args = parser.parse_args(argv)
    from t2i_core.errors import UserError
    from t2i_core.pipeline import T2IPipeline

    try:
        if args.tiny:
            pipes = {"birds": T2IPipeline.from_preset("tiny")}
        elif args.weights:
            pipe = T2IPipeline.from_pretrained(args.weights)
            pipes = {C.domain_of(pipe): pipe}
        else:
            pipes = bundled_models()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("hint: `python app.py --tiny` starts the app with a random-weight model", file=sys.stderr)
        return 2
    wanted = args.port if args.port is not None else default_port()
    port = free_port(args.host, wanted)
    if port is None:
        print(f"error: ports {wanted}-{wanted + 19} on {args.host} are all taken; choose one with --port",
              file=sys.stderr)
        return 2
    if port != wanted:
        print(f"port {wanted} is taken; using {port} (choose one with --port)", file=sys.stderr)
    launch(build_demo(pipes), server_name=args.host, server_port=port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
