// The page's Markdown renderer (src/server/ui/markdown.js): everything escaped, code keeps its
// whitespace, only http(s) links, a fence still open mid-stream shown as code.
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderMarkdown } from "../../src/server/ui/markdown.js";

test("HTML in a reply is text, never markup", () => {
  const html = renderMarkdown('<script>alert(1)</script> <img src=x onerror="alert(2)"> & \'q\'');
  assert.equal(html, "<p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=&quot;alert(2)&quot;&gt; &amp; &#39;q&#39;</p>");
  assert.ok(!renderMarkdown("```\n</code></pre><b>x</b>\n```").includes("<b>"));
});

test("code blocks keep their whitespace; a fence left open renders as code so far", () => {
  assert.equal(renderMarkdown("```python\ndef f():\n    return  1\n```"),
    '<pre><code class="language-python">def f():\n    return  1</code></pre>');
  assert.equal(renderMarkdown("Look:\n```\n  a  b"), "<p>Look:</p><pre><code>  a  b</code></pre>");
});

test("inline markup, lists, headings and links", () => {
  assert.equal(renderMarkdown("**bold**, *it*, `a<b`"), "<p><strong>bold</strong>, <em>it</em>, <code>a&lt;b</code></p>");
  assert.equal(renderMarkdown("- one\n- two\n\n1. first"), "<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>");
  assert.equal(renderMarkdown("# Title"), "<h3>Title</h3>");
  assert.equal(renderMarkdown("[site](https://example.org/a)"),
    '<p><a href="https://example.org/a" target="_blank" rel="noopener noreferrer">site</a></p>');
  assert.equal(renderMarkdown("[x](javascript:alert(1))"), "<p>[x](javascript:alert(1))</p>");
  assert.equal(renderMarkdown("line one\nline two"), "<p>line one<br>line two</p>");
});
