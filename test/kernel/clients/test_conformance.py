"""The official Jupyter kernel test suite (jupyter_kernel_test) against the cluelab kernel.

Run by test/kernel/conformance.test.ts with Debian's /usr/bin/python3, a temporary kernelspec
on JUPYTER_PATH and a temporary JUPYTER_DATA_DIR. Every attribute the suite knows is filled;
only the pager test skips (TypeScript has no pager convention).
"""
import os
import unittest

import jupyter_kernel_test as jkt

DISPLAY = 'import { display, html, md, svg, json, plotly, clearOutput } from "cluelab/display";\n'


class CluelabKernelTests(jkt.KernelTests):
    kernel_name = os.environ.get("CLUELAB_KERNEL_NAME", "cluelab")
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("some error")'

    completion_samples = [
        {"text": "Math.ab", "matches": {"abs"}},
        {"text": "const zzLocalAlpha = 1;\nconst zzLocalBeta = 2;\nzzLocalA", "matches": {"zzLocalAlpha"}},
    ]

    complete_code_samples = ["1", "const x = 1;", "function f() { return 1 }", "console.log('a')"]
    incomplete_code_samples = ["function f() {", "const a = [1,", "`unfinished template"]
    invalid_code_samples = ["const = ;", "1 +* 2", "let 5x = 1"]

    code_generate_error = 'throw new Error("boom")'

    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": "'a' + 'b'", "result": "'ab'"},
        {"code": "[1, 2].map((x) => x * 2)", "result": "[ 2, 4 ]"},
    ]

    # every display path: the display() API with each kind of rich value, an object rendering
    # itself (Deno's symbol), and tslab's API
    code_display_data = [
        {"code": DISPLAY + 'display(html("<b>bold</b>"))', "mime": "text/html"},
        {"code": DISPLAY + 'display(md("*em*"))', "mime": "text/markdown"},
        {"code": DISPLAY + 'display(svg("<svg xmlns=\'http://www.w3.org/2000/svg\'></svg>"))', "mime": "image/svg+xml"},
        {"code": DISPLAY + 'display(json({ a: 1 }))', "mime": "application/json"},
        # a cell's first figure comes after a display of plotly.js itself (HTML only): both are HTML
        {"code": DISPLAY + 'display(plotly({ data: [{ x: [1], y: [2] }] }))', "mime": "text/html"},
        {
            "code": DISPLAY + 'display({ [Symbol.for("Jupyter.display")]() { return { "text/html": "<i>self</i>" }; } })',
            "mime": "text/html",
        },
        {"code": DISPLAY + "display(42)", "mime": "text/plain"},
        {"code": 'import * as tslab from "tslab";\ntslab.display.html("<u>tslab</u>")', "mime": "text/html"},
    ]

    code_history_pattern = "1 +*"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "Math.max"

    code_clear_output = DISPLAY + "clearOutput()"


if __name__ == "__main__":
    unittest.main()
