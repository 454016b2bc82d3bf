#!/usr/bin/env python3
"""Drives `smolvlm run` the way a person does: a pseudo-terminal for the interactive chat (prompts,
/commands, multi-line input, Ctrl-C during a reply and at the prompt, Ctrl-D), plus one-shot runs,
piped and closed stdin, and bad input. Standard library only.

usage: run_chat.py SMOLVLM MODEL.gguf [--interrupt]
--interrupt: only Ctrl-C during a long reply (needs a model slow enough to interrupt, e.g. the
real-size one of realsize_256m.sh; the tiny golden model answers in milliseconds).
The one-shot reply is checked against the model itself: the chat prompt's ids (dev tokenize), their
greedy continuation (dev logits --greedy) and its text (dev detokenize) must give the printed reply.
"""
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

SMOLVLM, MODEL = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
INTERRUPT_ONLY = "--interrupt" in sys.argv[3:]
failures = []
N = 12  # reply tokens of the greedy checks


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def run(args, stdin=None, input_bytes=None):
    p = subprocess.run([SMOLVLM] + args, input=input_bytes, stdin=stdin, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def oneshot_checks():
    # --- one-shot: the reply is exactly the model's greedy continuation of the chat prompt ----------
    rc, out, err = run(["run", MODEL, "What is this?", "--temperature", "0", "-n", str(N), "--verbose"])
    check(rc == 0, f"one-shot exit 0 (got {rc}: {err.strip()[-200:]})")
    chat_prompt = "<|im_start|>User: What is this?<end_of_utterance>\nAssistant:"
    rc1, ids, _ = run(["dev", "tokenize", MODEL, chat_prompt])
    prompt_ids = ids.split()
    rc2, greedy, _ = run(["dev", "logits", MODEL, "--ids", ",".join(prompt_ids), "--greedy", str(N)])
    gen = greedy.split()
    eog = {"0", "2", "599"} & set(gen)
    if eog:  # the reply ends at the first end-of-generation token
        gen = gen[: min(gen.index(t) for t in eog)]
    rc3, text, _ = run(["dev", "detokenize", MODEL, ",".join(gen) if gen else "", "--skip-special"]) if gen else (0, "", "")
    check(rc1 == 0 and rc2 == 0 and rc3 == 0, "dev tokenize / logits / detokenize ran")
    expected = text.rstrip("\n").lstrip(" \n\r\t")
    check(out.rstrip("\n") == expected, f"one-shot reply == greedy continuation ({out!r} vs {expected!r})")
    for field in ["total duration:", "load duration:", "prompt eval count:    %d token(s)" % len(prompt_ids),
                  "prompt eval duration:", "prompt eval rate:", "eval count:", "eval duration:", "eval rate:"]:
        check(field in err, f"--verbose prints '{field}'")

    # --- piped stdin is the prompt; a closed stdin answers nothing -----------------------------------
    rc, out2, err2 = run(["run", MODEL, "--temperature", "0", "-n", str(N)], input_bytes=b"What is this?\n")
    check(rc == 0 and out2 == out, "piped stdin gives the same reply as the argument")
    # A piped file and a prompt are joined (stdin, then the prompt), as `ollama run` does.
    notes = b"Notes: the cat sat on the mat; the dog slept by the door; it rained all day.\n"
    rc, outp, errp = run(["run", MODEL, "Summarize this:", "--temperature", "0", "-n", "2", "--verbose"], input_bytes=notes)
    joined = "<|im_start|>User: " + notes.decode().rstrip("\n") + " Summarize this:<end_of_utterance>\nAssistant:"
    want_n = len(run(["dev", "tokenize", MODEL, joined])[1].split())
    m = re.search(r"prompt eval count:\s+(\d+) token", errp)
    check(rc == 0 and m is not None and int(m.group(1)) == want_n,
          f"piped stdin + prompt: both evaluated ({m.group(1) if m else None} == {want_n} tokens; {errp.strip()[-120:]})")
    rc, out3, err3 = run(["run", MODEL], stdin=subprocess.DEVNULL)
    check(rc == 0 and out3 == "", f"closed stdin: exit 0, no output (rc {rc}, {err3.strip()[-120:]})")

    # --- --format json: every reply is one JSON value (constrained decoding), whatever the seed ----------
    for seed in ("1", "2", "3"):
        rc, outj, errj = run(["run", MODEL, "Reply in JSON", "--format", "json", "--temperature", "0.7", "--seed", seed,
                              "-n", "200"])
        try:
            json.loads(outj)
            parsed = outj.strip() != ""
        except ValueError:
            parsed = False
        check(rc == 0 and parsed, f"--format json reply parses (seed {seed}: {outj[:80]!r} {errj.strip()[-120:]})")
    rc, _, err = run(["run", MODEL, "hi", "--format", "yaml"])
    check(rc != 0 and "json" in err, f"--format yaml: clear error ({err.strip()[-120:]})")

    # --- bad input -------------------------------------------------------------------------------------
    rc, _, err = run(["run", MODEL, "-n", "2"], input_bytes=b"bad \xff byte")
    check(rc == 1 and "UTF-8" in err and "offset 4" in err, f"invalid UTF-8: clear error ({err.strip()[-160:]})")
    rc, _, err = run(["run", MODEL, "--ctx", "16", "-n", "2", "one two three four five six seven eight nine ten"])
    check(rc == 1 and "context" in err and "16" in err, f"prompt longer than the context: clear error ({err.strip()[-160:]})")
    rc, _, err = run(["run", MODEL + ".missing", "hi"])
    check(rc == 1 and "smolvlm: error: file not found: " + MODEL + ".missing" in err, f"missing model file: file not found ({err.strip()[-160:]})")
    for path in ["gguf/nope.gguf", "./nope", "~/no-such-folder/", "/nonexistent/model.gguf"]:
        rc, _, err = run(["run", path, "hi"])
        check(rc == 1 and "smolvlm: error: file not found: " in err and "invalid model name" not in err,
              f"run {path}: file not found ({err.strip()[-160:]})")
    rc, _, err = run(["runn", MODEL])
    check(rc == 1 and "unknown command 'runn'" in err and "did you mean 'run'" in err, f"runn: suggestion ({err.strip()[-160:]})")
    rc, out0, _ = run([], stdin=subprocess.DEVNULL)
    check(rc == 0 and "Usage" in out0 and "run" in out0, "no arguments: the help")
    rc, _, err = run(["run", MODEL, "--no-such-flag"])
    check(rc == 1 and err.startswith("smolvlm: error:"), f"an unknown flag: exit 1, prefixed ({err.strip()[-160:]})")



    return expected


# --- interactive chat through a pseudo-terminal -----------------------------------------------------
class Term:
    def __init__(self, args):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execv(SMOLVLM, [SMOLVLM] + args)
        self.buf = b""

    def expect(self, pattern, timeout=60):
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        end = time.time() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                seen, self.buf = self.buf[: m.end()], self.buf[m.end():]
                return seen.decode("utf-8", "replace")
            left = end - time.time()
            if left <= 0:
                raise TimeoutError(f"waiting for {pattern!r}; got {self.buf[-400:]!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise EOFError(f"terminal closed waiting for {pattern!r}; got {self.buf[-400:]!r}")
                self.buf += data

    def send(self, text):
        os.write(self.fd, text.encode() if isinstance(text, str) else text)

    def wait(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            try:
                r, _, _ = select.select([self.fd], [], [], 0.1)
                if r:
                    self.buf += os.read(self.fd, 65536)
            except OSError:
                pass
        os.kill(self.pid, signal.SIGKILL)
        return None


def interrupt_checks():
    """Ctrl-C during a long reply stops the reply, not the chat."""
    try:
        t = Term(["run", MODEL, "--temperature", "0", "-n", "100000", "--ctx", "4096"])
        t.expect(">>> ")
        t.send("Tell me a long story.\n")
        t.expect("story.\r\n")
        started = time.time()
        t.expect(r"\S", timeout=60)  # the reply has started
        time.sleep(1.0)
        t.send(b"\x03")
        tail = t.expect(">>> ", timeout=60)
        check(time.time() - started < 30 and not tail.endswith("\r\n\r\n>>> "),
              f"Ctrl-C stopped the reply ({tail[-120:]!r})")
        t.send("/set parameter num_predict 4\n")
        t.expect(">>> ")
        t.send("Hello\n")
        check(t.expect(">>> ").endswith("\r\n\r\n>>> "), "the chat answers again after Ctrl-C")
        t.send("/bye\n")
        check(t.wait() == 0, "/bye exits 0")
    except (TimeoutError, EOFError) as e:
        check(False, f"interactive session: {e}")


def interactive_checks(expected):
    try:
        t = Term(["run", MODEL, "--temperature", "0", "-n", str(N)])
        t.expect(">>> ")
        t.send("/set parameter bogus 1\n")
        check("unknown parameter 'bogus'" in t.expect(">>> "), "/set parameter with an unknown name: error, chat goes on")
        t.send("/set parameter seed 42\n")
        check("Set parameter 'seed' to '42'" in t.expect(">>> "), "/set parameter seed 42")
        t.send("/show parameters\n")
        check(re.search(r"seed\s+42", t.expect(">>> ")) is not None, "/show parameters lists seed 42")
        t.send("/show info\n")
        check("architecture" in t.expect(">>> "), "/show info")
        t.send("/set\n")
        check("/set parameter" in t.expect(">>> "), "/set alone prints the /set help")
        t.send("What is this?\n")
        reply = t.expect(">>> ")
        check(expected in reply.replace("\r\n", "\n"), f"first turn replies like the one-shot run ({reply!r})")
        t.send("/set verbose\n")
        t.expect(">>> ")
        t.send('"""\nWhat\nis this?\n"""\n')
        t.expect(r"\.\.\. ")
        reply2 = t.expect(">>> ")
        m = re.search(r"prompt eval count:\s+(\d+) token", reply2)
        check(m is not None and len(reply2.split("prompt eval count")[0].strip()) > 0, "multi-line message answered")
        # The history (12 prompt + 12 reply tokens) stays in the cache: only the new turn is evaluated
        # (plus the last reply token, sampled but never fed). The message keeps its final newline, as in Ollama.
        new_turn = len(run(["dev", "tokenize", MODEL, "<end_of_utterance>\nUser: What\nis this?\n<end_of_utterance>\nAssistant:"])[1].split())
        check(m is not None and int(m.group(1)) <= new_turn + 1,
              f"second turn prefills only the new turn ({m.group(1) if m else None} <= {new_turn} + 1 tokens)")
        t.send("/set quiet\n")
        t.expect(">>> ")
        # Ctrl-C at the prompt discards the line and keeps the chat.
        t.send("half a line")
        time.sleep(0.3)
        t.send(b"\x03")
        check("Use Ctrl + d or /bye to exit." in t.expect(">>> "), "Ctrl-C at the prompt keeps the chat")
        t.send("/clear\n")
        check("Cleared session context" in t.expect(">>> "), "/clear")
        t.send("/bye\n")
        check(t.wait() == 0, "/bye exits 0")

        t = Term(["run", MODEL, "--temperature", "0", "-n", "4"])
        t.expect(">>> ")
        t.send(b"\x04")
        check(t.wait() == 0, "Ctrl-D exits 0")
    except (TimeoutError, EOFError) as e:
        check(False, f"interactive session: {e}")



def image_checks():
    """Images: --mmproj/--image one-shot == dev logits --text/--image greedy; a model folder; errors;
    a path typed in the chat attaches the image."""
    gguf = os.path.dirname(MODEL)
    mmproj = os.path.join(gguf, "mmproj-F32.gguf")
    image = os.path.join(os.path.dirname(gguf), "inputs", "image.png")
    if not (os.path.exists(mmproj) and os.path.exists(image)):
        print("skip image checks: no mmproj-F32.gguf / inputs/image.png beside the model")
        return
    q = "Describe this image."
    rc, out, err = run(["run", MODEL, "--mmproj", mmproj, "--image", image, q, "--temperature", "0", "-n", str(N)])
    check(rc == 0, f"image one-shot exit 0 ({err.strip()[-200:]})")
    text = "<|im_start|>User:<image>" + q + "<end_of_utterance>\nAssistant:"
    rc2, greedy, err2 = run(["dev", "logits", MODEL, "--mmproj", mmproj, "--image", image, "--text", text,
                             "--greedy", str(N)])
    gen = greedy.split()
    eog = {"0", "2", "599"} & set(gen)
    if eog:
        gen = gen[: min(gen.index(t) for t in eog)]
    rc3, want, _ = run(["dev", "detokenize", MODEL, ",".join(gen), "--skip-special"]) if gen else (0, "", "")
    want = want.rstrip("\n").lstrip(" \n\r\t")
    check(rc2 == 0 and rc3 == 0 and out.rstrip("\n") == want,
          f"image reply == dev logits --image greedy ({out!r} vs {want!r}; {err2.strip()[-160:]})")
    with tempfile.TemporaryDirectory() as d:
        os.symlink(MODEL, os.path.join(d, "model.gguf"))
        os.symlink(mmproj, os.path.join(d, "mmproj-model.gguf"))
        rc, out_dir, err = run(["run", d, "--image", image, q, "--temperature", "0", "-n", str(N)])
        check(rc == 0 and out_dir == out, f"a folder with both GGUFs works like --mmproj ({err.strip()[-160:]})")
        bad = os.path.join(d, "bad.jpg")
        with open(bad, "wb") as f:
            f.write(b"\xff\xd8\xff\xe0 truncated")
        rc, _, err = run(["run", MODEL, "--mmproj", mmproj, "--image", bad, q])
        check(rc == 1 and "bad.jpg" in err, f"corrupt image: error names the file ({err.strip()[-160:]})")
    rc, _, err = run(["run", MODEL, "--mmproj", mmproj, "--image", image, q, "--ctx", "512"])
    check(rc == 1 and "879 tokens" in err and "512" in err, f"image prompt over the context: counts named ({err.strip()[-160:]})")
    rc, _, err = run(["run", MODEL, "--mmproj", mmproj, "--image", image, q, "--temperature", "0", "-n", "2", "--verbose"])
    check(rc == 0 and re.search(r"image encode count:\s+1 item\(s\), 13 tile\(s\)", err) is not None and "image encode duration:" in err,
          f"--verbose names the image encode ({err.strip()[-300:]})")
    rc, _, err = run(["run", MODEL, "--mmproj", mmproj, "--image", image + ".nope", q])
    check(rc == 1 and err.startswith("smolvlm: error:") and "image.png.nope" in err, f"a bad --image path: prefixed error ({err.strip()[-160:]})")
    rc, _, err = run(["run", MODEL, "--image", image, q])
    check(rc == 1 and "vision projector" in err, f"image without a projector: clear error ({err.strip()[-160:]})")
    # In the chat, a path in the message attaches the image.
    try:
        cwd = os.getcwd()
        os.chdir(os.path.dirname(image))
        t = Term(["run", MODEL, "--mmproj", mmproj, "--temperature", "0", "-n", str(N)])
        os.chdir(cwd)
        t.expect(">>> ")
        t.send("/show info\n")
        seen = t.expect(">>> ")
        check("Projector" in seen and re.search(r"Capabilities\s+completion\s+vision", seen) is not None,
              f"/show info in the chat: Projector section and the vision capability ({seen!r})")
        # Over the context: said from the tiling plan, before any tile is encoded.
        t.send("/set parameter num_ctx 512\n")
        t.expect(">>> ")
        t.send("./image.png " + q + "\n")
        seen = t.expect(">>> ").replace("\r\n", "\n")
        check("879 tokens" in seen and "encoding image.png" not in seen, f"over the context: said before any encoding ({seen!r})")
        t.send("/set parameter num_ctx 4096\n")
        t.expect(">>> ")
        t.send("./image.png " + q + "\n")
        seen = t.expect(">>> ").replace("\r\n", "\n")
        check("Added './image.png'" in seen and want in seen, f"a path typed in the chat attaches the image ({seen!r})")
        check("encoding image.png" in seen, f"a terminal shows progress while the image encodes ({seen!r})")
        t.send("/bye\n")
        t.wait()
    except (TimeoutError, EOFError) as e:
        check(False, f"interactive image: {e}")


def store_checks(expected):
    """A model created in the store runs by name, with its PARAMETER values as defaults."""
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, OLLAMA_MODELS=os.path.join(d, "models"), SMOLVLM_HOST="127.0.0.1:1",
                   SMOLVLM_NO_AUTOSTART="1")  # no server, none started: in-process
        mf = os.path.join(d, "Modelfile")
        with open(mf, "w") as f:
            f.write("FROM %s\nPARAMETER temperature 0\nPARAMETER num_predict %d\n" % (MODEL, N))
        p = subprocess.run([SMOLVLM, "create", "tiny:test", "-f", mf], env=env, capture_output=True, timeout=120)
        check(p.returncode == 0, f"create from a Modelfile ({p.stderr.decode()[-160:]})")
        p = subprocess.run([SMOLVLM, "run", "tiny:test", "What is this?"], env=env, capture_output=True, timeout=120)
        got = p.stdout.decode("utf-8", "replace")
        check(p.returncode == 0 and got.rstrip("\n") == expected,
              f"run NAME uses the stored model and its parameters ({got!r} vs {expected!r})")
        p = subprocess.run([SMOLVLM, "run", "nosuch:model", "hi"], env=env, capture_output=True, timeout=60)
        check(p.returncode == 1 and "not found" in p.stderr.decode(), "run of an unknown name: not found")


if INTERRUPT_ONLY:
    interrupt_checks()
else:
    expected = oneshot_checks()
    interactive_checks(expected)
    image_checks()
    store_checks(expected)
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
