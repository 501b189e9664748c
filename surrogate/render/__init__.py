"""Renderers read Explanations only: text, Markdown, DOT/SVG, HTML."""
