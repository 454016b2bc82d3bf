#!/usr/bin/env python3
"""Markdown benchmark report from `smolvlm bench --json=FILE` output (Python standard library only).

    scripts/bench_report.py BENCH.json [MORE.json ...] [--llamacpp LLAMA.json ...] [--curves SWEEP.json ...] \
        --out docs/BENCHMARKS.md [--plots DIR] [--note TEXT]

BENCH.json: what `smolvlm bench MODEL... --json=FILE` writes, {"machine": {...}, "settings": {...},
"models": [{...}, ...]} (a single model's flat `--json` object is accepted too).

LLAMA.json: llama.cpp's figures, either llama-bench's own `-o json` output (a list of test rows with
model_type, model_n_params, model_size, n_prompt, n_gen, avg_ts, stddev_ts, cpu_info, n_threads) or
the small format {"source": "llama.cpp", "machine": "...", "models": [{"type": "Q8_0", "params": 134515008,
"size_bytes": 144000000, "pp512": 123.4, "tg128": 45.6, "encode_tile_s": 1.6, "ttft_s": 23.8}]} (every
figure optional: the image ones from llama-mtmd-cli's log, on the same image and projector). Rows are
matched to ours by model size (parameter count) and quant type; several files merge, keeping each
test's best figure.

SWEEP.json: a bench document (or more) that contributes only its cost curves (`--sweep-depth`,
`--sweep-edge`), for curves measured in a run of their own.

The report has the machine, one table per metric (rows: model size, columns: quant type), llama.cpp's
figures beside ours when given, the cost curves when bench ran with --sweep-depth / --sweep-edge
(decode speed against context depth with its bound; tiles, image tokens, encode time and time to first
token against the image's longest edge), and PNG charts (tokens/s, TTFT, peak RSS, the curves) under
--plots (default: bench/ next to --out) drawn by gnuplot when it is installed; without gnuplot the plots
are skipped with a note in the report.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile


def shown_name(m):
    """A model as the report names it: a store name as given, a path by its file name only (reports carry no
    absolute paths of the machine they were made on)."""
    name = str(m.get("name", ""))
    return os.path.basename(name) if "/" in name and not name.startswith("hf.co/") else name


def human_number(n):
    """Ollama's HumanNumber style: 135M, 1.49M, 2B."""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            v = n / scale
            s = f"{v:.0f}" if v == int(v) or v >= 100 else f"{v:.2f}".rstrip("0").rstrip(".")
            return s + unit
    return str(int(n))


def load_ours(path):
    with open(path) as f:
        doc = json.load(f)
    if "models" not in doc:  # a single model's flat --json object
        doc = {"machine": {k: doc.get(k) for k in ("isa", "threads", "bandwidth_gbs")}, "settings": {}, "models": [doc]}
    for m in doc["models"]:
        m["_source"] = path
    return doc


LLAMA_KINDS = {"Medium": "M", "Small": "S", "Large": "L", "Extra small": "XS", "Extra extra small": "XXS"}


def llama_type(model_type):
    """llama-bench's model_type "llama 256M Q4_K - Medium" -> "Q4_K_M" (the file type as we name it)."""
    parts = model_type.split(" ", 2)
    t = parts[2] if len(parts) == 3 else parts[-1]
    if " - " in t:
        base, kind = t.split(" - ", 1)
        t = f"{base}_{LLAMA_KINDS.get(kind, kind)}"
    return t


def load_llamacpp(path):
    """llama.cpp's figures as {(size label, type): {"pp": ..., "tg": ..., "n_prompt", "n_gen"}} + a machine line."""
    with open(path) as f:
        doc = json.load(f)
    out, machine = {}, ""
    if isinstance(doc, list):  # llama-bench -o json
        for row in doc:
            key = (human_number(row["model_n_params"]), llama_type(row["model_type"]))
            e = out.setdefault(key, {"size_bytes": row.get("model_size")})
            if row.get("n_prompt", 0) > 0 and row.get("n_gen", 0) == 0:
                e["pp"], e["n_prompt"] = row["avg_ts"], row["n_prompt"]
            elif row.get("n_gen", 0) > 0 and row.get("n_prompt", 0) == 0:
                e["tg"], e["n_gen"] = row["avg_ts"], row["n_gen"]
            machine = (f"{row.get('cpu_info', '?')}, {row.get('n_threads', '?')} threads, "
                       f"llama.cpp build {row.get('build_commit', '?')}")
    else:
        for m in doc["models"]:
            e = out.setdefault((human_number(m["params"]), m["type"]), {"size_bytes": m.get("size_bytes")})
            for k, v in m.items():
                if k in TIME_METRICS:
                    e[k] = v
                if k.startswith("pp") and k[2:].isdigit():
                    e["pp"], e["n_prompt"] = v, int(k[2:])
                if k.startswith("tg") and k[2:].isdigit():
                    e["tg"], e["n_gen"] = v, int(k[2:])
        machine = doc.get("machine", "")
    return out, machine


def metric_value(m, metric):
    if metric == "pp":
        return m.get(f"pp{m.get('n_prompt')}")
    if metric == "tg":
        return m.get(f"tg{m.get('n_gen')}")
    return m.get(metric)


# llama.cpp's figures in seconds (lower is better) that the small format may carry.
TIME_METRICS = ("encode_tile_s", "ttft_s")

# metric key, title, unit, format
METRICS = [
    ("pp", "Prompt processing", "tokens/s", "{:.1f}"),
    ("tg", "Generation", "tokens/s", "{:.1f}"),
    ("bound_tg", "Generation bound (bandwidth / weight bytes per token)", "tokens/s", "{:.1f}"),
    ("ttft_s", "Time to first token (image prompt, from the file)", "s", "{:.3f}"),
    ("encode_tile_s", "Image encode, one tile", "s", "{:.3f}"),
    ("encode_image_s", "Image encode, whole image (decode + preprocess + all tiles)", "s", "{:.3f}"),
    ("peak_rss_mib", "Peak RSS", "MiB", "{:.0f}"),
    ("size_bytes", "Text GGUF size", "MiB", "{:.1f}"),
]

TYPE_ORDER = ["F32", "BF16", "F16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_1", "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_1",
              "Q4_0"]


def type_rank(t):
    return (TYPE_ORDER.index(t) if t in TYPE_ORDER else len(TYPE_ORDER), t)


def grid(models):
    """{(size label, type): model} with sizes and types in display order; duplicates get the name appended."""
    cells, sizes, types = {}, [], []
    for m in models:
        if "error" in m:
            continue
        size = human_number(m.get("params", 0))
        key = (size, m.get("type", "?"))
        if key in cells:
            key = (f"{size} {m.get('name', '')}", key[1])
        cells[key] = m
        if key[0] not in sizes:
            sizes.append(key[0])
        if key[1] not in types:
            types.append(key[1])
    return cells, sizes, sorted(types, key=type_rank)


def fmt_cell(metric, fmt, m, llama):
    v = metric_value(m, metric) if m else None
    if v is None:
        return "–"
    if metric == "size_bytes":
        v = v / 2**20
    s = fmt.format(v)
    if llama and metric in ("pp", "tg") + TIME_METRICS and llama.get(metric) is not None:
        s += f" (llama.cpp {fmt.format(llama[metric])})"
    return s


def metric_tables(models, llama):
    cells, sizes, types = grid(models)
    out = []
    for metric, title, unit, fmt in METRICS:
        if not any(metric_value(m, metric) is not None for m in cells.values()):
            continue
        label = title
        if metric in ("pp", "tg"):
            n = {m.get("n_prompt" if metric == "pp" else "n_gen") for m in cells.values()}
            label += " (" + ", ".join(f"{metric}{x}" for x in sorted(n)) + ")"
        out.append(f"### {label}, {unit}\n")
        out.append("| model size | " + " | ".join(types) + " |")
        out.append("|---|" + "---:|" * len(types))
        for size in sizes:
            row = [fmt_cell(metric, fmt, cells.get((size, t)), llama.get((size, t))) for t in types]
            out.append(f"| {size} | " + " | ".join(row) + " |")
        out.append("")
    return out


def llama_table(models, llama):
    cells, sizes, types = grid(models)
    rows = []
    for size in sizes:
        for t in types:
            m, l = cells.get((size, t)), llama.get((size, t))
            if not m or not l:
                continue
            for metric in ("pp", "tg"):
                ours, theirs = metric_value(m, metric), l.get(metric)
                if ours is None or theirs is None:
                    continue
                test = f"pp{m['n_prompt']}" if metric == "pp" else f"tg{m['n_gen']}"
                other = f"{metric}{l.get('n_prompt' if metric == 'pp' else 'n_gen')}"
                if other != test:
                    test += f" (llama.cpp: {other})"
                rows.append(f"| {size} | {t} | {test}, tokens/s | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f} |")
            for metric, test in (("encode_tile_s", "encode one tile, s"), ("ttft_s", "time to first token, image, s")):
                ours, theirs = metric_value(m, metric), l.get(metric)
                if ours is not None and theirs is not None:
                    rows.append(f"| {size} | {t} | {test} | {ours:.3f} | {theirs:.3f} | {theirs / ours:.2f} |")
    if not rows:
        return []
    return ["### smolvlm vs llama.cpp\n", "Speed-up: how many times faster smolvlm is (tokens/s: ours / theirs; seconds: "
            "theirs / ours).\n", "| model size | type | test | smolvlm | llama.cpp | speed-up |",
            "|---|---|---|---:|---:|---:|"] + rows + [""]


def gnuplot_terminal(gnuplot):
    terms = subprocess.run([gnuplot, "-e", "set terminal"], capture_output=True, text=True)
    listing = terms.stdout + terms.stderr
    return "pngcairo size 800,450 font ',10'" if "pngcairo" in listing else "png size 800,450"


def bar_chart(gnuplot, terminal, png, title, ylabel, labels, series):
    """Clustered bars: labels on x, series = [(name, [values])] (None: no bar)."""
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.txt")
        with open(data, "w") as f:
            for i, label in enumerate(labels):
                vals = ["NaN" if s[1][i] is None else repr(float(s[1][i])) for s in series]
                f.write(f'"{label}" ' + " ".join(vals) + "\n")
        plots = ", ".join(
            f"'{data}' using {k + 2}" + (":xtic(1)" if k == 0 else "") + f" title '{name}'"
            for k, (name, _) in enumerate(series))
        script = "\n".join([
            f"set terminal {terminal}", "set termoption noenhanced", f"set output '{png}'", f"set title '{title}'", f"set ylabel '{ylabel}'",
            "set style data histograms", "set style histogram clustered gap 1", "set style fill solid 0.8 border -1",
            "set boxwidth 0.9", "set yrange [0:*]", "set grid ytics", "set key top left", f"plot {plots}", ""])
        r = subprocess.run([gnuplot], input=script, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"gnuplot failed for {png}: {r.stderr.strip()}")


def line_chart(gnuplot, terminal, png, title, xlabel, ylabel, series, logscale_x=False):
    """Lines with points: series = [(name, [(x, y)], dashed)]."""
    with tempfile.TemporaryDirectory() as tmp:
        plots = []
        for k, (name, points, dashed) in enumerate(series):
            data = os.path.join(tmp, f"s{k}.txt")
            with open(data, "w") as f:
                for x, y in points:
                    f.write(f"{float(x)!r} {float(y)!r}\n")
            style = f"linespoints lw 2 pt 7 lc {k // 2 + 1 if any(d for _, _, d in series) else k + 1}"
            plots.append(f"'{data}' using 1:2 with {style}" + (" dt 2" if dashed else "") + f" title '{name}'")
        script = "\n".join([
            f"set terminal {terminal}", "set termoption noenhanced", f"set output '{png}'", f"set title '{title}'",
            f"set xlabel '{xlabel}'", f"set ylabel '{ylabel}'", "set yrange [0:*]", "set grid", "set key outside right",
            "set logscale x 2" if logscale_x else "", f"plot {', '.join(plots)}", ""])
        r = subprocess.run([gnuplot], input=script, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"gnuplot failed for {png}: {r.stderr.strip()}")


def depth_rows(m):
    return sorted(m.get("sweep_depth") or [], key=lambda r: r["depth"])


def image_series(m):
    """{max_tiles: [rows by edge]} of a model's image sweep."""
    out = {}
    for r in m.get("sweep_image") or []:
        out.setdefault(r["max_tiles"], []).append(r)
    return {k: sorted(v, key=lambda r: r["edge"]) for k, v in sorted(out.items(), key=lambda kv: (kv[0] == 0, kv[0]))}


def label(m):
    return f"{human_number(m.get('params', 0))} {m.get('type', '?')}"


def sweep_tables(models):
    out = []
    swept = [m for m in models if depth_rows(m)]
    if swept:
        out += ["### Decode speed against context depth\n",
                "Decode steps (tg, tokens/s) after a prefilled context of the given depth; the bound is the read "
                "bandwidth over the weight bytes plus the KV cache a step reads (every layer's keys and values up to "
                "its position).\n",
                "| model | depth | tg | bound | of bound | KV MB read per token | prefill of the depth, t/s |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for m in swept:
            for r in depth_rows(m):
                bound = r.get("bound_tg")
                cells = [label(m), str(r["depth"]), f"{r['tg']:.1f}",
                         "–" if bound is None else f"{bound:.1f}",
                         "–" if bound is None else f"{100 * r['tg_of_bound']:.0f}%",
                         f"{r['kv_bytes_per_token'] / 1e6:.1f}",
                         f"{r['pp']:.1f}" if r.get("pp") else "–"]
                out.append("| " + " | ".join(cells) + " |")
        out.append("")
    swept = [m for m in models if m.get("sweep_image")]
    if swept:
        out += ["### Image size against cost\n",
                "Synthetic images of each longest edge, from the file's bytes to the first token of \"Describe this "
                "image.\", cold media cache. Tiles count the global view; max_tiles 0 is the model's full "
                "resolution.\n",
                "| model | image | max_tiles | tiles (rows x cols) | image tokens | prompt tokens | preprocess s | "
                "encode s | TTFT s |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for m in swept:
            for tiles, rows in image_series(m).items():
                for r in rows:
                    grid_ = f"{r['tiles']} ({r['rows']} x {r['cols']})" if r["rows"] else f"{r['tiles']} (1 frame)"
                    out.append(f"| {label(m)} | {r['width']}x{r['height']} | {tiles} | {grid_} | {r['image_tokens']} | "
                               f"{r['prompt_tokens']} | {r['preprocess_s']:.3f} | {r['encode_s']:.3f} | "
                               f"{r['ttft_s']:.3f} |")
        out.append("")
    return out


def sweep_plots(models, gnuplot, terminal, plot_dir, md_dir):
    out = []
    series = []
    for m in models:
        rows = depth_rows(m)
        if not rows:
            continue
        series.append((f"{label(m)} measured", [(r["depth"], r["tg"]) for r in rows], False))
        if all(r.get("bound_tg") for r in rows):
            series.append((f"{label(m)} bound", [(r["depth"], r["bound_tg"]) for r in rows], True))
    if series:
        png = os.path.join(plot_dir, "depth_tg.png")
        line_chart(gnuplot, terminal, png, "Decode speed against context depth", "context depth, tokens",
                   "tokens/s", series)
        out.append(f"![Decode speed against context depth]({os.path.relpath(png, md_dir)})\n")
    series = []
    for m in models:
        for tiles, rows in image_series(m).items():
            name = f"{label(m)}, " + ("full resolution" if tiles == 0 else f"max_tiles {tiles}")
            series.append((f"{name}: TTFT", [(r["edge"], r["ttft_s"]) for r in rows], False))
            series.append((f"{name}: encode", [(r["edge"], r["encode_s"]) for r in rows], True))
    if series:
        png = os.path.join(plot_dir, "image_edge_ttft.png")
        line_chart(gnuplot, terminal, png, "Image size against time to first token", "longest edge, px", "s",
                   series, logscale_x=True)
        out.append(f"![Image size against time to first token]({os.path.relpath(png, md_dir)})\n")
    return out


def plots(models, llama, plot_dir, md_dir, curve_models):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        return ["_Plots skipped: gnuplot is not installed (Debian: `apt-get install gnuplot-nox`)._", ""]
    os.makedirs(plot_dir, exist_ok=True)
    terminal = gnuplot_terminal(gnuplot)
    cells, sizes, types = grid(models)
    keys = [(s, t) for s in sizes for t in types if (s, t) in cells]
    labels = [f"{s} {t}" for s, t in keys]
    charts = []
    for metric, title in (("pp", "Prompt processing"), ("tg", "Generation")):
        speed = [("smolvlm", [metric_value(cells[k], metric) for k in keys])]
        if llama:
            speed.append(("llama.cpp", [llama.get(k, {}).get(metric) for k in keys]))
        charts.append((f"{metric}_tokens_per_s.png", f"{title}, tokens/s", "tokens/s", speed))
    if any(cells[k].get("ttft_s") is not None for k in keys):
        charts.append(("ttft.png", "Time to first token (image prompt)", "s",
                       [("ttft", [cells[k].get("ttft_s") for k in keys]),
                        ("encode image", [cells[k].get("encode_image_s") for k in keys])]))
    charts.append(("peak_rss.png", "Peak RSS", "MiB", [("peak RSS", [cells[k].get("peak_rss_mib") for k in keys])]))
    out = []
    for name, title, ylabel, series in charts:
        series = [s for s in series if any(v is not None for v in s[1])]
        if not series:
            continue
        png = os.path.join(plot_dir, name)
        bar_chart(gnuplot, terminal, png, title, ylabel, labels, series)
        out.append(f"![{title}]({os.path.relpath(png, md_dir)})\n")
    return out + sweep_plots(curve_models, gnuplot, terminal, plot_dir, md_dir)


def report(docs, llama, llama_machine, plot_dir, out_path, note, curve_docs=()):
    models = [m for d in docs for m in d["models"]]
    curve_models = models + [m for d in curve_docs for m in d["models"] if "error" not in m]
    lines = ["# Benchmarks", "",
             "Generated by `scripts/bench_report.py` from `smolvlm bench --json=FILE` output; do not edit by hand.",
             "pp = prompt processing (random prompt tokens prefilled into an empty cache), tg = generation (one "
             "token per step from an empty cache), tokens/s, median of the repetitions. TTFT and image encode: "
             "median seconds, cold media cache. Peak RSS: VmHWM of the process that ran the model.", ""]
    if note:
        lines += [f"**Note:** {note}", ""]
    lines += ["## Machine", ""]
    for d in list(docs) + list(curve_docs):
        mc, st = d.get("machine", {}), d.get("settings", {})
        lines.append(f"- `{os.path.basename(d['models'][0]['_source']) if d['models'] else '?'}`: "
                     f"{mc.get('cpu', '?')}, {mc.get('cores', '?')} cores ({mc.get('logical_cpus', '?')} logical), "
                     f"{mc.get('threads', '?')} threads, ISA {mc.get('isa', '?')}, "
                     f"read bandwidth {mc.get('bandwidth_gbs') or 0:.1f} GB/s, "
                     f"FMA peak {mc.get('peak_gflops') or 0:.0f} GFLOP/s"
                     + (f", int8 peak {mc['peak_int8_gops']:.0f} GOP/s" if mc.get("peak_int8_gops") else "")
                     + (f", bf16 peak {mc['peak_bf16_gflops']:.0f} GFLOP/s" if mc.get("peak_bf16_gflops") else "")
                     + "; "
                     f"repetitions {st.get('repeats', '?')}, KV cache {st.get('kv_type', '?')}"
                     + (f", image `{os.path.basename(st['image'])}`" if st.get("image") else "")
                     + (" (cost curves only)" if d in curve_docs else ""))
    if llama_machine:
        lines.append(f"- llama.cpp: {llama_machine}")
    lines.append("")
    lines += ["## Models", "", "| name | file | type | params | size MiB | mmproj |", "|---|---|---|---:|---:|---|"]
    for m in models:
        if "error" in m:
            lines.append(f"| {shown_name(m)} | {m.get('file', '')} | error: {m['error']} | | | |")
            continue
        mm = f"{m['mmproj']} ({m.get('mmproj_type')}, {human_number(m.get('mmproj_params', 0))})" if m.get("mmproj") else ""
        lines.append(f"| {shown_name(m)} | {m.get('file')} | {m.get('type')} | {human_number(m.get('params', 0))} | "
                     f"{m.get('size_bytes', 0) / 2**20:.1f} | {mm} |")
    lines += ["", "## Results", ""]
    gpu = [m for m in models if m.get("device", "CPU") != "CPU"]
    if gpu:
        lines += ["Device: " + ", ".join(sorted({f"{m['device']} ({m.get('gpu_layers', '?')} layers on it, copy "
                                                 f"bandwidth {m.get('gpu_bandwidth_gbs', 0):.0f} GB/s)" for m in gpu})), ""]
    else:
        lines += ["GPU: not measured in this report (every model ran on the CPU). `scripts/gpu_check.sh` measures the "
                  "Vulkan backend on a machine with a GPU; docs/HARDWARE.md gives its figures once measured.", ""]
    lines += metric_tables(models, llama)
    lines += llama_table(models, llama)
    curves = sweep_tables(curve_models)
    if curves:
        lines += ["## Cost curves", ""] + curves
    lines += ["## Plots", ""]
    lines += plots(models, llama, plot_dir, os.path.dirname(os.path.abspath(out_path)), curve_models)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench", nargs="+", help="smolvlm bench --json=FILE outputs")
    ap.add_argument("--llamacpp", action="append", default=[],
                    help="llama-bench -o json output (or the small format); repeat it for repeated runs (best kept)")
    ap.add_argument("--curves", action="append", default=[],
                    help="a smolvlm bench --json=FILE output that contributes only its cost curves (repeatable)")
    ap.add_argument("--out", required=True, help="markdown file to write")
    ap.add_argument("--plots", help="folder for the PNGs (default: bench/ next to --out)")
    ap.add_argument("--note", default="", help="a line for the top of the report (e.g. 'the machine was shared')")
    a = ap.parse_args()
    try:
        docs = [load_ours(p) for p in a.bench]
        llama, machines = {}, []
        for p in a.llamacpp:  # several files (repeated runs): the best figure of each test
            figures, machine = load_llamacpp(p)
            for key, e in figures.items():
                best = llama.setdefault(key, {})
                for k, v in e.items():
                    if k in ("pp", "tg") and best.get(k) is not None:
                        v = max(v, best[k])
                    if k in TIME_METRICS and best.get(k) is not None:
                        v = min(v, best[k])
                    best[k] = v
            if machine and machine not in machines:
                machines.append(machine)
        llama_machine = "; ".join(machines)
        if len(a.llamacpp) > 1:
            llama_machine += f"; the best of {len(a.llamacpp)} llama.cpp files per test"
        plot_dir = a.plots or os.path.join(os.path.dirname(os.path.abspath(a.out)), "bench")
        report(docs, llama, llama_machine, plot_dir, a.out, a.note, [load_ours(p) for p in a.curves])
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        print(f"bench_report.py: {e}", file=sys.stderr)
        return 1
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
