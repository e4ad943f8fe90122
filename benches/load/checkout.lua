-- Checkout: every order is a new guest cart (POST /api/v1/carts), one line of one unit
-- (POST /api/v1/carts/{id}/lines, SKUs rotating over LOAD_SKUS), then POST
-- /api/v1/checkout with a unique Idempotency-Key: a state machine per cart, three
-- requests per order. Orders/s counts the 201 answers of the checkout requests; `order`
-- latency runs from sending the cart creation to receiving the order.
dofile(os.getenv("LOAD_LUA_DIR") .. "/common.lua")

local skus = split(os.getenv("LOAD_SKUS"), ",")
local ready = {} -- { stage = "add" | "checkout", cart }
local carts = 0

function request()
  local next = table.remove(ready)
  if next == nil then
    carts = carts + 1
    local cart = { n = carts, t0 = now_us() }
    return (send("create", cart, "POST", "/api/v1/carts", json_headers(), '{"currency":"USD"}'))
  end
  local cart = next.cart
  local auth = json_headers({ ["X-Cart-Token"] = cart.token })
  if next.stage == "add" then
    local sku = skus[(cart.n - 1) % #skus + 1]
    local body = string.format('{"sku":"%s","quantity":1}', sku)
    return (send("add", cart, "POST", "/api/v1/carts/" .. cart.id .. "/lines", auth, body))
  end
  auth["Idempotency-Key"] = string.format("lt-%s-%d-%d", os.getenv("LOAD_RUN_ID") or "run",
    tid or 0, cart.n)
  local body = string.format(
    '{"cart_id":"%s","email":"load@example.com","payment_method":"pm_card_visa"}', cart.id)
  return (send("checkout", cart, "POST", "/api/v1/checkout", auth, body))
end

function response(status, headers, body)
  local kind, cart, _, ok = receive(status, headers, body)
  if not ok then return end -- a failed order is dropped; the next request starts a new one
  if kind == "create" then
    cart.id = string.match(body, '"id"%s*:%s*"([^"]+)"')
    cart.token = string.match(body, '"cart_token"%s*:%s*"([^"]+)"')
    if cart.id and cart.token then ready[#ready + 1] = { stage = "add", cart = cart } end
  elseif kind == "add" then
    ready[#ready + 1] = { stage = "checkout", cart = cart }
  elseif kind == "checkout" then
    record_ok("order", now_us() - cart.t0)
  end
end
