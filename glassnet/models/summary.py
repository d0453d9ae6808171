"""model.summary(): Keras 3's table of layers, output shapes and parameter counts."""
import numpy as np

_TOP = "┏┳┓━"
_HEAD_SEP = "┡╇┩━"
_ROW_SEP = "├┼┤─"
_BOTTOM = "└┴┘─"


def readable_size(nbytes):
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024


def _wrap(text, width):
    """Split text into lines of at most ``width`` characters, at spaces where possible."""
    lines, line = [], ""
    for word in text.split(" "):
        while len(word) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:width])
            word = word[width:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return lines


def _rule(chars, widths):
    left, mid, right, fill = chars
    return left + mid.join(fill * w for w in widths) + right


def _row(cells, widths, aligns, bar):
    wrapped = [_wrap(c, w - 2) for c, w in zip(cells, widths)]
    height = max(len(w) for w in wrapped)
    out = []
    for i in range(height):
        parts = []
        for lines, w, a in zip(wrapped, widths, aligns):
            text = lines[i] if i < len(lines) else ""
            parts.append(" " + (text.rjust(w - 2) if a == "r" else text.ljust(w - 2)) + " ")
        out.append(bar + bar.join(parts) + bar)
    return out


def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join("None" if n is None else str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _params(layer):
    if not layer.built and not layer.weights:
        return "0 (unbuilt)"
    return f"{int(sum(w.size for w in layer.weights)):,}"


def _weight_bytes(weights):
    return int(sum(w.size * w.dtype.itemsize for w in weights))


def summary_lines(model, connected=None):
    """The summary as a list of lines (what ``model.summary()`` prints)."""
    rows = model._summary_rows()
    if connected is None:
        connected = any(len(r) > 3 for r in rows)
    widths = (21, 19, 12, 19) if connected else (33, 24, 15)
    aligns = ("l", "l", "r", "l") if connected else ("l", "l", "r")
    head = ["Layer (type)", "Output Shape", "Param #", "Connected to"][:len(widths)]
    lines = [f'Model: "{model.name}"', _rule(_TOP, widths)]
    lines += _row(head, widths, aligns, "┃")
    lines.append(_rule(_HEAD_SEP, widths))
    for i, cells in enumerate(rows):
        cells = list(cells) + ["-"] * (len(widths) - len(cells))
        lines += _row(cells[:len(widths)], widths, aligns, "│")
        lines.append(_rule(_ROW_SEP if i < len(rows) - 1 else _BOTTOM, widths))
    if not rows:
        lines.append(_rule(_BOTTOM, widths))
    trainable = model.trainable_weights
    ids = {id(w) for w in trainable}
    non_trainable = [w for w in model.weights if id(w) not in ids]
    n_t = int(sum(w.size for w in trainable))
    n_n = int(sum(w.size for w in non_trainable))
    lines.append(f" Total params: {n_t + n_n:,} ({readable_size(_weight_bytes(model.weights))})")
    lines.append(f" Trainable params: {n_t:,} ({readable_size(_weight_bytes(trainable))})")
    lines.append(f" Non-trainable params: {n_n:,} ({readable_size(_weight_bytes(non_trainable))})")
    opt = getattr(model, "optimizer", None)
    if opt is not None and getattr(opt, "built", False):
        ov = [v for v in opt.variables]
        lines.append(f" Optimizer params: {int(sum(np.size(v.data) for v in ov)):,} ({readable_size(_weight_bytes(ov))})")
    return lines


def layer_row(layer):
    return [f"{layer.name} ({type(layer).__name__})", _shape_text(layer._output_shape), _params(layer)]
