"""ML2 mechanism driver that binds every port on any host, with no dataplane.

Why: the devcloud runs Neutron without OVS/OVN agents. Without a driver that
binds ports, Nova (fake virt driver) fails with PortBindingFailed. This driver
marks every segment bound (VIF type ovs, status ACTIVE) so servers can boot on
Neutron networks. API-level testing only; it is installed into the devcloud's
own venv, never into the user's environment.
"""

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api


class BindAllMechanismDriver(api.MechanismDriver):
    """Bind the first segment offered, whatever its type."""

    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(
                segment[api.ID],
                portbindings.VIF_TYPE_OVS,
                {portbindings.CAP_PORT_FILTER: True},
                status=constants.PORT_STATUS_ACTIVE,
            )
            return
