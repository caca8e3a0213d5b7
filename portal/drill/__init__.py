"""The fault drill (``labpulse drill``): a lab network on one machine (stack.py, on the servers of servers.py and
the provider stand-ins of standins.py), a day of the lab played against it (day.py), and the run that breaks it
and checks that nothing was lost or done twice (run.py). The tests use its servers and stand-ins too."""
