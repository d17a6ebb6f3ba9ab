
from bot.logs import quiet_http_clients

quiet_http_clients()
