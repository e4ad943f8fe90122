-- Add-to-cart: POST /api/v1/carts/{id}/lines with X-Cart-Token, one unit of a SKU.
--
-- Every request in flight works on its own guest cart (each connection has one request
-- in flight, and a cart is handed to the next request only once its response is in).
-- SKUs rotate over LOAD_SKUS so no line reaches the per-line limit (99 units): a cart
-- takes LOAD_ADDS_PER_CART adds (default 500: 50 units of each of 10 SKUs, 10 lines),
-- then a new cart is created (`create` requests, reported apart, about 0.2 % of them).
dofile(os.getenv("LOAD_LUA_DIR") .. "/common.lua")

local skus = split(os.getenv("LOAD_SKUS"), ",")
local adds_per_cart = tonumber(os.getenv("LOAD_ADDS_PER_CART") or "500")
local ready = {} -- carts whose last request is answered

function request()
  local cart = table.remove(ready)
  if cart == nil then
    return (send("create", nil, "POST", "/api/v1/carts", json_headers(), '{"currency":"USD"}'))
  end
  cart.sent = cart.sent + 1
  local sku = skus[(cart.sent - 1) % #skus + 1]
  local body = string.format('{"sku":"%s","quantity":1}', sku)
  return (send("add", cart, "POST", "/api/v1/carts/" .. cart.id .. "/lines",
    json_headers({ ["X-Cart-Token"] = cart.token }), body))
end

function response(status, headers, body)
  local kind, cart, _, ok = receive(status, headers, body)
  if not ok then return end -- a failed cart is dropped; the next request makes a new one
  if kind == "create" then
    local id = string.match(body, '"id"%s*:%s*"([^"]+)"')
    local token = string.match(body, '"cart_token"%s*:%s*"([^"]+)"')
    if id and token then ready[#ready + 1] = { id = id, token = token, sent = 0 } end
  elseif kind == "add" and cart.sent < adds_per_cart then
    ready[#ready + 1] = cart
  end
end
