#include "record.h"

static const char *const class_names[REQ_CLASS_COUNT] = {
    [REQ_OK] = "ok",
    [REQ_HTTP_ERROR] = "http_error",
    [REQ_TIMEOUT_CONNECT] = "timeout_connect",
    [REQ_TIMEOUT_FIRST_TOKEN] = "timeout_first_token",
    [REQ_TIMEOUT_IDLE] = "timeout_idle",
    [REQ_TIMEOUT_TOTAL] = "timeout_total",
    [REQ_CONNECT_ERROR] = "connect_error",
    [REQ_RESET] = "reset",
    [REQ_PROTOCOL_ERROR] = "protocol_error",
    [REQ_SERVER_ERROR_EVENT] = "server_error_event",
    [REQ_NO_DONE] = "no_done",
    [REQ_EARLY_STOP] = "early_stop",
    [REQ_CANCELLED] = "cancelled",
};

const char *req_class_name(int cls)
{
    if (cls < 0 || cls >= REQ_CLASS_COUNT)
        return "unknown";
    return class_names[cls];
}

int req_class_is_success(int cls)
{
    return cls == REQ_OK || cls == REQ_EARLY_STOP;
}
