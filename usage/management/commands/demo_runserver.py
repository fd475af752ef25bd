"""runserver for `make run`: once the server listens, the demo logins and the dashboard's address
are the last lines printed, so a newcomer finds them without scrolling."""

from django.core.management.commands.runserver import Command as RunserverCommand

from usage.management.commands.demo_data import demo_logins


class Command(RunserverCommand):
    help = "Serve the dashboard (as runserver does), then print the demo logins and its address."

    def on_bind(self, server_port):
        super().on_bind(server_port)
        host = f"[{self.addr}]" if self._raw_ipv6 else self.addr
        if not self.addr.strip("0.:"):
            host = "127.0.0.1"  # every interface (0, 0.0.0.0, ::): this machine's one works
        self.stdout.write("")
        for line in demo_logins(f"{self.protocol}://{host}:{server_port}/"):
            self.stdout.write(line)
