"""Templates compiled once per language, with their fixed texts already translated.

A page says many fixed things (`{{ _("Find bills") }}`: ~30 on the bill lookup page), and asking the
catalogue for each on every render was a sizeable part of rendering. Jinja compiles a template once and
keeps it, so each language gets its own compiled copy, in which `_("literal")` and `gettext("literal")`
without variables are already replaced by their translation, marked safe as Flask-Babel's newstyle
gettext marks it; Jinja then writes them as part of the page's fixed text. Calls with variables,
plurals, and all gettext in Python still go through Flask-Babel when the page is rendered.
"""

from __future__ import annotations

import contextvars
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from flask import g, has_app_context
from flask.templating import Environment
from flask_babel import get_locale, get_translations
from jinja2 import nodes
from jinja2.visitor import NodeTransformer

_GETTEXT_NAMES = frozenset({"_", "gettext"})
_translations_to_fold: contextvars.ContextVar = contextvars.ContextVar("portal_fold", default=None)


class PortalEnvironment(Environment):
    """Flask's Jinja environment, keeping one compiled copy of each template per language.

    ``fold_translations = False`` compiles templates as Jinja does (tests compare the two)."""

    fold_translations = True

    def _load_template(self, name, globals):  # Jinja's own signature, cache key with the language
        if self.loader is None:
            raise TypeError("no loader for this environment specified")
        locale = _active_locale() if self.fold_translations else None
        cache_key = (weakref.ref(self.loader), name, locale)
        if self.cache is not None:
            template = self.cache.get(cache_key)
            if template is not None and (not self.auto_reload or template.is_up_to_date):
                if globals:
                    template.globals.update(globals)
                return template
        with folding(get_translations() if locale is not None else None):
            template = self.loader.load(self, name, self.make_globals(globals))
        if self.cache is not None:
            self.cache[cache_key] = template
        return template

    def _parse(self, source, name, filename):
        tree = super()._parse(source, name, filename)
        translations = _translations_to_fold.get()
        return _FixedTexts(translations).visit(tree) if translations is not None else tree


@contextmanager
def folding(translations) -> Iterator[None]:
    """Templates compiled inside get ``translations``' texts folded in (None: compiled as they are)."""
    token = _translations_to_fold.set(translations)
    try:
        yield
    finally:
        _translations_to_fold.reset(token)


def _active_locale():
    """The language being rendered now (Flask-Babel's choice, force_locale included), or None outside an
    app context. Read where Flask-Babel keeps it once chosen: this runs for every template a page loads,
    imports included."""
    if not has_app_context():
        return None
    locale = getattr(g.get("_flask_babel"), "babel_locale", None)
    return locale if locale is not None else get_locale()


class _FixedTexts(NodeTransformer):
    """Replaces `_("literal")` and `gettext("literal")` by the translated literal."""

    def __init__(self, translations) -> None:
        self.translate = translations.ugettext

    def visit_Call(self, node: nodes.Call) -> nodes.Node:
        if not _is_fixed_text(node):
            return self.generic_visit(node)
        text = self.translate(node.args[0].value)
        if "%" in text:
            text = text % {}  # newstyle gettext always %-formats: "%%" becomes "%"
        return nodes.MarkSafeIfAutoescape(nodes.Const(text, lineno=node.lineno), lineno=node.lineno)


def _is_fixed_text(node: nodes.Call) -> bool:
    return (
        isinstance(node.node, nodes.Name)
        and node.node.name in _GETTEXT_NAMES
        and len(node.args) == 1
        and isinstance(node.args[0], nodes.Const)
        and isinstance(node.args[0].value, str)
        and not node.kwargs
        and node.dyn_args is None
        and node.dyn_kwargs is None
    )
