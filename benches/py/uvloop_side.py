"""uvloop's side of the Python timer row (same shape as stdlib.py's)."""

import uvloop
from common import main
from stdlib import call_later_on

main({"py_call_later/uvloop": lambda w: call_later_on(uvloop.new_event_loop)})
