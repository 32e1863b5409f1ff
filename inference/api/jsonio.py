"""orjson behind Flask's official JSON provider hook (``app.json``)."""

import orjson
from flask.json.provider import JSONProvider

DUMP_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


class OrjsonProvider(JSONProvider):
    """Fast JSON for every ``return dict`` and ``jsonify``; rejects NaN and Infinity on input."""

    mimetype = "application/json"

    def dumps(self, obj, **kwargs):
        return orjson.dumps(obj, option=DUMP_OPTIONS).decode()

    def loads(self, s, **kwargs):
        return orjson.loads(s)

    def response(self, *args, **kwargs):
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(orjson.dumps(obj, option=DUMP_OPTIONS), mimetype=self.mimetype)
