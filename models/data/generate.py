"""Write models/data/train.jsonl: hand-written replies plus seeded template variations.

    python -m models.data.generate            # rewrites train.jsonl (same bytes every run)

The evaluation split (eval.jsonl) is NOT produced here: it was written by hand, separately,
and nothing in this file reads it. Labels follow the precedence rules in models/data/README.md.

Each label has hand-written messages (the bulk of the variety) and a few templates whose slots
are filled at random; then a seeded "phone keyboard" pass makes some rows look typed on
WhatsApp: accents dropped, vc/pq/hj/tb/msg, lower case or ANGRY CAPS, a typo, an emoji, a
greeting in front, no punctuation.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from pathlib import Path

SEED = 20260313
PER_LABEL = 230
OUT = Path(__file__).with_name("train.jsonl")

HAND: dict[str, list[str]] = {
    "promise_to_pay": [
        "Pago amanhã sem falta",
        "vou pagar dia 10 quando cair o salário",
        "sexta feira eu acerto com vcs",
        "assim que eu receber eu pago, dia 5",
        "pode deixar que segunda eu faço o pix",
        "amanhã cedo eu passo na lotérica e pago",
        "hj a noite eu pago pelo app",
        "vou pagar ate o dia 20",
        "fica tranquila moça, semana que vem eu quito tudo",
        "recebo dia 15 e no mesmo dia pago",
        "to sem dinheiro hoje mas quinta eu pago o valor todo",
        "eu vou pagar, só preciso esperar meu pagamento que sai dia 30",
        "Depois de amanhã eu transfiro",
        "no sábado eu pago sem falta",
        "dia 12/04 eu pago",
        "ok, pagarei no dia 25",
        "ta bom vou pagar amanha",
        "VOU PAGAR SEXTA JÁ FALEI",
        "segunda que vem eu deposito o valor",
        "até o fim do mês eu pago tudo",
        "pode contar comigo, pago na terça",
        "meu marido recebe sexta e a gente paga no sábado",
        "eu pago hoje ainda, só chegar em casa",
        "consigo pagar o valor inteiro dia 8",
        "oi bom dia, vou quitar essa divida amanha de manha",
        "amanha eu pago essa parada ai",
        "pago quarta feira blz",
        "Irei efetuar o pagamento na próxima segunda-feira",
        "to esperando o 13 sair, em dezembro eu pago tudo",
        "quando sair meu seguro desemprego dia 18 eu pago",
        "me da ate sexta que eu resolvo e pago",
        "hoje depois das 18h faço a transferencia",
        "pago no dia 10/12 pode anotar",
        "vou pagar sim, amanhã depois do almoço",
        "sim sim eu vou pagar essa semana",
        "beleza, dia 7 tá pago",
        "eu pago o boleto amanhã na hora do almoço",
        "vou pagar os 150 reais na sexta",
        "quinta-feira eu quito os R$ 320,00",
        "ja separei o dinheiro, pago amanhã",
        "vou pagar no dia do vencimento que vcs mandaram",
        "assim que o pix do cliente cair eu te pago, hoje ainda",
        "nao quero parcelar nao, vou pagar tudo sexta",
        "pode ficar tranquilo que dia 15 eu pago, nao precisa ficar mandando msg",
        "oi! amanhã eu pago viu, obrigada pela paciência",
        "vou pagar na segunda, hj é domingo os banco ta fechado",
        "eu pago depois de amanha com certeza",
        "dia 3 eu recebo o aluguel e pago vcs",
        "opa, terça eu faço o pagamento",
        "mano eu pago sexta relaxa",
        "to no trampo agora, a noite eu pago",
        "vou pagar em 5 dias",
        "prometo que semana que vem eu pago",
        "pode aguardar até dia 28 que eu pago",
        "olha eu sei que to atrasado, mas dia 10 sem falta eu pago, pode confiar",
        "Eu vou pagar amanhã, é que tive um imprevisto essa semana",
        "pago o boleto todo na próxima sexta",
        "vou fazer o deposito hj ainda",
        "até meio dia de amanhã eu faço o pix",
        "sabado de manha passo no banco e pago",
        "ta bem, vou pagar dia 20 desse mes",
        "Combinado, pago dia 5 de dezembro",
        "meu filho vai pagar pra mim amanhã",
        "vou pagar tudo de uma vez no dia 30",
        "eu ia pagar hoje mas vou pagar amanha",
    ],
    "already_paid": [
        "já paguei",
        "paguei ontem",
        "ja fiz o pix hoje cedo",
        "essa conta ja ta paga",
        "quitei semana passada",
        "paguei na lotérica sexta",
        "já foi pago, confere ai",
        "paguei pelo app do banco ontem a noite",
        "o valor ja foi debitado da minha conta",
        "minha esposa pagou ontem",
        "JA PAGUEI ESSA PORCARIA",
        "eu paguei dia 10, tenho o comprovante",
        "vou mandar o comprovante, ja paguei",
        "segue o comprovante do pagamento",
        "acabei de pagar",
        "pago! 🙏",
        "fiz a transferencia agorinha",
        "já acertei com a loja",
        "paguei e vcs continuam me cobrando",
        "essa divida eu ja quitei no acordo do ano passado",
        "o boleto foi pago no dia do vencimento",
        "já paguei, para de mandar mensagem",
        "não precisa mandar o pix, já paguei",
        "ja paguei moça, foi ontem pelo caixa eletrônico",
        "pagamento realizado",
        "efetuei o pagamento hoje as 14h",
        "paguei ja faz uma semana, olha ai no sistema de vcs",
        "obrigado, mas já está pago",
        "eu já paguei tudo em dinheiro direto na loja",
        "foi pago pelo meu irmão ontem",
        "ja ta quitado isso",
        "transferi os 200 reais ontem",
        "paguei R$ 89,90 na segunda",
        "acabei de fazer o pix de 150",
        "paguei no debito automatico",
        "caiu ai? fiz o pix agora",
        "ja foi feito o pagamento, é só aguardar compensar",
        "pagamento feito, aguardo a baixa",
        "paguei o boleto que vcs mandaram semana passada",
        "ja paguei a primeira parcela do acordo",
        "essa fatura eu paguei, deve ta em processamento",
        "eu paguei sim, vou te mandar o print",
        "ja paguei mas o sistema de vcs nao atualiza",
        "Boa tarde, o pagamento foi efetuado ontem",
        "oxe ja paguei faz tempo",
        "paguei ontem à noite, pode dar baixa",
        "ja quitei, nao devo mais nada",
        "ta pago ja meu amigo",
        "fiz o pagamento pelo internet banking",
        "já paguei essa conta, isso é cobrança indevida",
        "eu ja paguei e vcs mandando mensagem todo dia, que saco",
        "paguei em 2 vezes no cartao na loja mesmo",
        "o pix ja foi, ontem as 22h",
        "a minha mãe já pagou pra mim",
        "debitou hoje de manha",
    ],
    "request_payment_info": [
        "me manda o boleto",
        "pode me mandar a 2ª via?",
        "qual a chave pix?",
        "manda o código de barras por favor",
        "tem link pra pagar?",
        "o boleto venceu, manda outro",
        "como faço pra pagar?",
        "qual o valor atualizado pra pagar hoje?",
        "me passa o pix que eu pago agora",
        "pode mandar o boleto atualizado no meu email?",
        "onde eu pago isso?",
        "aceita cartão de crédito?",
        "manda a linha digitavel",
        "passa o pix ai",
        "preciso da segunda via da fatura",
        "nao recebi o boleto, pode reenviar?",
        "o link que vcs mandaram nao abre, manda outro",
        "me manda o qr code do pix",
        "quanto que ta dando com juros?",
        "qual o banco e a agencia pra depositar?",
        "vou pagar hoje, me manda o pix",
        "me envia o boleto que pago amanhã",
        "tem como pagar por pix?",
        "pode gerar um boleto novo com vencimento pra sexta?",
        "qual o valor total da dívida?",
        "não quero falar com atendente, só quero o boleto",
        "manda a chave pix de novo que apaguei a conversa",
        "o codigo de barras ta dando erro no app do banco",
        "me manda por aqui mesmo o boleto",
        "preciso do boleto pra pagar, to no banco agora",
        "qual o cnpj da empresa pro pix?",
        "em nome de quem sai o pix?",
        "pode mandar o boleto em pdf?",
        "paguei o boleto da luz mas o de vcs nao, manda o de vcs de novo",
        "BOLETO",
        "pix?",
        "2 via",
        "segunda via pfv",
        "oi, me passa os dados pra pagamento",
        "quero pagar, como faço",
        "me manda o link do pagamento pelo whats",
        "qual é o valor pra quitar à vista hoje?",
        "a chave pix é o cnpj ou email?",
        "esse boleto que vcs mandaram é de qual valor?",
        "manda boleto pra eu pagar na lotérica",
        "não é golpe né? rs me manda o pix",
        "eu quero pagar mas perdi o boleto",
        "pode mandar o boleto pro meu filho? ele paga",
        "o boleto ta vencido, da pra atualizar?",
        "tem como mandar o codigo pra eu pagar no caixa eletronico?",
        "me manda o valor certinho e o pix",
        "qual a data de vencimento do boleto?",
    ],
    "negotiate": [
        "dá pra parcelar?",
        "tem desconto à vista?",
        "não consigo pagar tudo de uma vez",
        "posso pagar metade agora e metade mês que vem?",
        "faz em 3x?",
        "tô desempregado, não tenho como pagar esse valor",
        "consegue tirar os juros?",
        "qual a melhor proposta que vcs fazem?",
        "posso pagar 50 reais por mês",
        "muito caro, faz por 200 que eu pago",
        "parcela no cartão?",
        "se tirar a multa eu pago",
        "tem como fazer um acordo?",
        "quero negociar essa divida",
        "consigo pagar só 100 agora",
        "to passando dificuldade, da pra dividir em mais vezes?",
        "esse valor ta muito alto pra mim, nao tenho condições",
        "da pra fazer em 10 vezes sem juros?",
        "se fizer um desconto bom eu quito hoje",
        "parcela em 6x que eu pago",
        "quanto fica pra quitar com desconto?",
        "aceitam uma entrada de 100 e o resto parcelado?",
        "eu quero pagar mas não consigo o valor todo",
        "nao tenho esse dinheiro todo, so tenho 300",
        "o acordo que vcs ofereceram ta muito pesado, da pra diminuir a parcela?",
        "queria renegociar as parcelas",
        "dá pra adiar o vencimento e dividir em duas?",
        "me dá um desconto que eu pago amanhã",
        "tem alguma campanha de desconto?",
        "faz 50% de desconto que eu pago",
        "to com o nome sujo, quero limpar, quanto fica parcelado?",
        "consigo pagar 80 por mes durante 5 meses",
        "não posso pagar tudo agora, só uma parte",
        "parcelar sem entrada, pode ser?",
        "tem como diminuir esse valor?",
        "fiquei doente e to sem trabalhar, preciso de um prazo e parcelar",
        "NÃO TENHO COMO PAGAR ESSE ABSURDO, FAZ UM DESCONTO",
        "queria uma proposta de acordo",
        "pago 100 agora e o resto no mes que vem, pode ser?",
        "parcelamento no boleto tem?",
        "da pra tirar os juros e eu pago o valor original?",
        "se parcelar eu pago dia 10",
        "quanto fica a parcela em 12x?",
        "me manda uma proposta que caiba no bolso",
        "nao tenho condicoes de pagar agora, so depois que arrumar emprego",
        "quero quitar mas com desconto dos juros",
        "parar de mandar mensagem não resolve, eu quero negociar",
        "vcs aceitam pagar um pouco por semana?",
    ],
    "dispute": [
        "não reconheço essa dívida",
        "isso não é meu",
        "o valor está errado",
        "cancelei esse serviço faz tempo",
        "nunca comprei nada nessa loja",
        "isso é golpe",
        "fui vítima de fraude, clonaram meu cartão",
        "já cancelei o contrato em março, não devo nada",
        "cobrança indevida",
        "vou no procon",
        "esse valor tá errado, era 100 e não 300",
        "não vou pagar boleto nenhum, isso não é meu",
        "o produto nunca chegou, não vou pagar",
        "essa divida ja prescreveu",
        "cobraram duas vezes a mesma parcela",
        "eu nunca assinei contrato nenhum com vcs",
        "que dívida é essa? nunca tive conta aí",
        "esse valor não confere com o que eu comprei",
        "vocês estão cobrando juros abusivos, não concordo",
        "usaram meu cpf sem autorização",
        "o serviço foi cancelado e continuaram cobrando",
        "vou processar vcs, essa cobrança é ilegal",
        "essa conta é do antigo dono da casa, não é minha",
        "devolvi o produto dentro do prazo, não devo",
        "NAO DEVO NADA PRA VCS",
        "não contratei esse plano",
        "a fatura veio com um valor que não é o combinado",
        "não vou pagar por uma coisa que eu não usei",
        "esse débito não é meu, fiz boletim de ocorrência",
        "o seguro foi incluído sem eu pedir, não pago",
        "meu nome foi usado por outra pessoa pra abrir essa conta",
        "isso ai ja foi resolvido na justiça",
        "to questionando essa cobrança no reclame aqui",
        "a internet nunca funcionou, não vou pagar",
        "esse contrato foi cancelado pelo próprio banco",
        "não fiz essa compra",
        "quero a comprovação dessa divida, não reconheço",
        "esse valor ta muito acima do que eu devia, ta errado",
        "a loja fechou e nunca entregou meu móvel",
        "me mostra o contrato assinado porque eu não fiz isso",
        "esta cobrança é fraudulenta",
        "isso é engano, já foi estornado",
        "minha compra foi cancelada e estornada no cartão",
        "nao reconheco essa compra de 450 reais",
        "eu paguei só metade porque a outra metade do serviço nao foi feita",
        "isso não é meu, para de me mandar isso",
        "esse boleto é falso né? nunca tive nada com vcs",
    ],
    "opt_out": [
        "para de me mandar mensagem",
        "não quero mais receber mensagens",
        "me tira da lista",
        "SAIR",
        "pare",
        "não me mande mais nada",
        "descadastrar",
        "chega de mensagem",
        "para de encher o saco",
        "vou bloquear esse número",
        "não autorizo contato por whatsapp",
        "remove meu número",
        "parem de me mandar msg todo dia",
        "não quero ser contatado por aqui",
        "stop",
        "me exclui dessa lista de vcs",
        "se mandar mais uma mensagem vou denunciar como spam",
        "nao tenho interesse, nao mande mais",
        "pelo amor de deus parem de me mandar mensagem",
        "CHEGA!!! PAREM",
        "não entre mais em contato comigo",
        "cancelar mensagens",
        "nao quero receber cobrança pelo whatsapp",
        "deixa eu em paz",
        "tira meu contato daí",
        "bloqueado",
        "me esquece",
        "não quero mais essas mensagens automáticas",
        "para de mandar msg pra esse numero",
        "quero parar de receber esses avisos",
        "vou te bloquear",
        "sai fora",
        "mais uma mensagem e eu processo por assédio",
        "nao manda mais nada pra mim",
        "excluir",
        "para",
        "não quero receber lembrete",
        "não quero mais contato, por favor respeitem",
        "vcs mandam msg toda hora, me tira disso",
        "nao mandem msg de madrugada, alias nao mandem nunca mais",
        "já falei pra pararem de mandar mensagem",
        "denunciei vcs, parem de mandar mensagem",
        "não quero conversa, tchau, não mandem mais",
        "por favor remover meu whats da lista de envio",
    ],
    "talk_to_human": [
        "quero falar com um atendente",
        "tem alguém humano aí?",
        "me liga",
        "quero falar com uma pessoa",
        "posso falar com o gerente?",
        "isso é robô?",
        "prefiro resolver por telefone",
        "me passa o telefone de vcs",
        "atendente por favor",
        "quero falar com alguém de verdade",
        "não quero falar com robô",
        "me transfere pra um atendente",
        "tem algum número pra eu ligar?",
        "pode me ligar agora?",
        "liga pra mim depois das 18h",
        "quero atendimento humano",
        "preciso falar com alguém do financeiro",
        "quero conversar com o responsável",
        "ATENDENTE",
        "chama um humano aí",
        "tem como alguém me ligar amanhã?",
        "quero falar com a pessoa que me atendeu da outra vez",
        "me passa pra alguém que possa resolver",
        "não entendi nada, quero falar com uma pessoa",
        "posso ir pessoalmente na loja resolver?",
        "qual o telefone da central?",
        "me manda o contato do setor de cobrança",
        "alguém pode me atender?",
        "oi, tem alguém ai pra conversar?",
        "quero falar com a supervisora",
        "esse whats é automático? quero falar com gente",
        "me liga nesse numero mesmo",
        "preciso de atendimento, é urgente",
        "pode pedir pra alguem me ligar?",
        "falar com atendente",
        "opção atendente",
        "voce é uma pessoa ou um robo?",
        "quero falar com o advogado de vcs",
        "manda alguém me ligar pra explicar isso",
        "tenho uma dúvida que só uma pessoa pode responder",
        "preciso falar com alguém sobre minha situação",
        "qual o horário de atendimento de vcs?",
        "tem alguém que eu possa mandar áudio?",
    ],
    "wrong_person": [
        "número errado",
        "não conheço essa pessoa",
        "não sou o João",
        "esse número agora é meu, comprei o chip faz um mês",
        "a Maria não mora mais aqui",
        "vc se enganou de pessoa",
        "meu nome não é esse",
        "não tem nenhuma Ana aqui",
        "engano",
        "esse whats não é do Carlos",
        "vocês estão mandando pra pessoa errada",
        "não sou eu, vcs erraram o número",
        "desconheço esse fulano",
        "esse número é da empresa, não tem ninguém com esse nome aqui",
        "troquei de número, o antigo dono era outra pessoa",
        "meu pai pediu pra avisar que esse número não é mais dele",
        "nunca ouvi falar dessa pessoa",
        "ENGANO, NAO CONHEÇO",
        "aqui não é a Fernanda não",
        "não é comigo",
        "esse numero era do meu ex, nao tenho contato com ele",
        "quem é esse tal de Roberto? não conheço",
        "moço vc ta falando com a pessoa errada",
        "foi engano, não sou cliente de vcs",
        "essa pessoa não trabalha mais aqui",
        "não existe ninguém com esse nome nesse telefone",
        "número errado, para de mandar",
        "tá errado o número, aqui é da padaria",
        "eu não sou essa pessoa",
        "errou o contato amigo",
        "não conheço, deve ser o antigo dono do número",
        "a dona desse nome é minha vizinha, não sou eu",
        "mensagem enviada por engano, não sou o destinatário",
        "nao sou a Juliana, to com esse chip faz 2 anos",
        "acho que vocês pegaram o número errado",
        "esse cpf não é meu e nem esse nome",
        "nunca tive esse nome, numero errado",
        "o Pedro morreu faz 3 anos, esse número é meu agora",
        "eu sou a mãe dele, ele nao usa mais esse numero",
        "pessoa errada",
        "oi? meu nome é Bruno, não Paulo",
    ],
    "other": [
        "oi",
        "bom dia",
        "ok",
        "obrigado",
        "👍",
        "quem é?",
        "blz",
        "kkkkk",
        "?",
        "recebi",
        "tô no trabalho, depois eu vejo",
        "que empresa é essa?",
        "amém",
        "boa noite pra vc tbm",
        "to dirigindo agora",
        "mandei um áudio",
        "pode ser",
        "entendi",
        "vou ver",
        "depois eu vejo isso",
        "Olá",
        "tudo bem?",
        "🙏🙏",
        "boa tarde",
        "certo",
        "valeu",
        "obrigada pela informação",
        "ok, recebido",
        "quem fala?",
        "hm",
        "sim",
        "não",
        "oii tudo bem",
        "recebi o boleto obrigado",
        "vou conversar com meu marido e te falo",
        "to no hospital agora",
        "que horas vcs abrem?",
        "😂😂😂",
        "bom dia, Deus abençoe",
        "feliz natal pra vcs",
        "isso é sobre o que?",
        "mandei mensagem errada, desculpa",
        "to sem internet direito, depois respondo",
        "hello",
        "aguarde",
        "👍🏻",
        "ta",
        "beleza então",
        "depois a gente conversa",
        "não entendi",
        "estou de férias",
        "tá chovendo muito aqui",
        "oi sumida",
        "vou pensar",
        "ahh ta",
        "show",
    ],
}

# Long dictated messages (voice typing, no punctuation, a story before the point).
LONG: dict[str, list[str]] = {
    "promise_to_pay": [
        "oi bom dia moça olha eu sei que to devendo ai faz um tempo mas é que eu fiquei sem "
        "trabalhar uns meses agora eu arrumei um serviço e recebo dia 10 então dia 10 eu pago "
        "tudo pode ficar tranquila",
        "entao eu vi a mensagem de vcs e queria dizer que eu nao esqueci nao viu eu vou pagar "
        "sexta feira que é quando meu marido recebe e a gente acerta tudo certinho",
        "boa tarde aqui é a dona Cida eu to com o boleto aqui na mão e amanhã de manhã eu vou "
        "na lotérica pagar que hoje eu não consegui sair de casa",
    ],
    "already_paid": [
        "bom dia eu recebi essa mensagem de cobrança mas eu ja paguei essa conta no dia 5 la "
        "na loteria do centro eu tenho o comprovante guardado aqui se precisar eu mando foto",
        "gente pelo amor de deus eu ja paguei isso semana passada fiz o pix pro cnpj que vcs "
        "mandaram e ate agora vcs ficam mandando mensagem verifica ai por favor",
        "oi entao minha filha pagou pra mim pelo aplicativo dela ontem a noite deve aparecer no "
        "nome dela ai mas foi pago ta",
    ],
    "request_payment_info": [
        "oi boa tarde eu quero pagar essa conta mas o boleto que chegou la em casa molhou com a "
        "chuva e nao da pra ler o codigo vc consegue me mandar outro por aqui mesmo",
        "entao eu tava querendo pagar hoje ainda porque recebi agora mas nao sei a chave pix de "
        "vcs me passa ai que eu ja faço na hora",
        "bom dia tudo bem eu to no banco agora na fila e o caixa pediu o codigo de barras manda "
        "rapidinho por favor",
    ],
    "negotiate": [
        "olha moça eu to desempregada faz 4 meses tenho 3 filhos pequenos e o dinheiro que entra "
        "é do bolsa familia nao tem como eu pagar esse valor todo de uma vez sera que da pra "
        "dividir em umas parcelas pequenas",
        "boa noite eu recebi a cobrança e quero resolver sim mas esse valor com juros ficou "
        "muito alto se vcs tirarem os juros eu consigo pagar o valor original em duas vezes",
        "então eu até queria pagar mas com o que eu ganho hoje só consigo uns 100 reais por mes "
        "vcs aceitam assim",
    ],
    "dispute": [
        "olha eu nao sei do que vcs estao falando eu nunca tive cartao dessa loja nunca comprei "
        "nada ai acho que alguem usou meu nome e meu cpf eu ja fiz boletim de ocorrencia e nao "
        "vou pagar nada",
        "boa tarde eu cancelei esse plano de internet em janeiro liguei la e tenho ate o "
        "protocolo do cancelamento e vcs continuam cobrando as mensalidades isso ta errado",
        "a compra que eu fiz foi de 300 reais e vcs tao cobrando 1200 esse valor nao ta certo "
        "quero que corrijam",
    ],
    "opt_out": [
        "ja é a quinta mensagem que vcs mandam hoje eu ja disse que nao quero receber esse tipo "
        "de mensagem no meu whatsapp por favor tirem meu numero dessa lista",
        "olha eu trabalho a noite e durmo de dia e vcs ficam mandando mensagem toda hora me "
        "acordando parem de mandar mensagem por favor",
    ],
    "talk_to_human": [
        "eu ja tentei explicar minha situação aqui mas parece que é uma maquina respondendo "
        "entao eu quero falar com uma pessoa de verdade que consiga entender o meu caso",
        "oi eu sou idosa e nao sei mexer muito nesse celular minha neta que ta escrevendo pra "
        "mim tem como alguem ligar pra mim pra explicar",
    ],
    "wrong_person": [
        "boa tarde eu comprei esse chip novo faz uns dois meses e desde entao recebo mensagem "
        "cobrando um tal de Wesley que eu nao conheço por favor atualizem o cadastro de vcs",
        "oi aqui é da oficina mecanica do Zé esse numero é comercial nao tem nenhuma Claudia "
        "aqui acho que passaram o numero errado pra vcs",
    ],
    "other": [
        "oi boa tarde desculpa a demora pra responder eu tava viajando e fiquei sem sinal la no "
        "sitio agora que cheguei vou ler tudo com calma",
        "bom dia a todos que Deus abençoe o dia de vcs e de suas familias tenham uma otima semana",
    ],
}

# Slot fillers shared by the templates.
DAYS = [
    "amanhã", "amanha", "hoje", "hj", "sexta", "sexta feira", "segunda", "segunda que vem",
    "terça", "quarta-feira", "quinta", "sábado", "dia 5", "dia 10", "dia 15", "dia 20", "dia 30",
    "10/12", "05/01", "depois de amanhã", "semana que vem", "fim do mês", "mês que vem",
    "o dia 25", "amanhã cedo", "hoje à tarde", "hoje a noite",
]  # fmt: skip
MEANS = ["pix", "boleto", "transferência", "ted", "depósito", "cartão", "lotérica"]
AMOUNTS = ["50", "100", "150 reais", "R$ 200", "R$ 89,90", "300", "duzentos reais", "R$ 1.250,00"]
NAMES = ["Maria", "João", "Ana", "Carlos", "José", "Francisca", "Paulo", "Juliana", "Marcos",
         "Antônio", "Luiza", "Rafael", "Severino", "Raimunda", "Diego", "Patrícia"]  # fmt: skip
WHO = ["minha mãe", "meu marido", "minha esposa", "meu filho", "meu irmão", "minha filha"]
HARDSHIP = [
    "to desempregado", "fiquei doente", "to com o salário atrasado", "minha mãe ta internada",
    "perdi o emprego mês passado", "to passando aperto", "o dinheiro ta curto esse mês",
    "tive que pagar o aluguel", "meu carro quebrou",
]  # fmt: skip
GREETINGS = ["oi", "olá", "bom dia", "boa tarde", "boa noite", "opa", "oi moça", "ei",
             "bom dia tudo bem?", "oii", "boa tarde, tudo bom?", "e ai", "salve"]  # fmt: skip
CLOSINGS = ["obrigado", "obrigada", "🙏", "blz?", "ok?", "viu", "tá bom", "valeu", "😉",
            "por favor", "pfv", "grato", "abs", "😊", "!!", "fico no aguardo"]  # fmt: skip

TEMPLATES: dict[str, list[str]] = {
    "promise_to_pay": [
        "vou pagar {day}",
        "pago {day} sem falta",
        "{day} eu pago",
        "{day} eu faço o {mean}",
        "{who} vai pagar {day}",
        "{hard}, mas {day} eu pago tudo",
        "pode deixar que {day} eu acerto os {amount}",
        "consigo pagar {day}, pode aguardar",
        "{day} eu quito essa divida",
        "vou fazer o {mean} {day}",
        "prometo pagar {day}",
        "{day} ta pago",
    ],
    "already_paid": [
        "já paguei {when}",
        "{who} já pagou {when}",
        "paguei {when} pelo {mean}",
        "fiz o {mean} {when}",
        "já quitei {when}, confere aí",
        "paguei os {amount} {when}",
        "o pagamento foi feito {when}",
        "ja paguei {when}, para de mandar mensagem",
        "já paguei {when}, vou mandar o comprovante",
    ],
    "request_payment_info": [
        "me manda o {doc}",
        "manda o {doc} {pls}",
        "pode me enviar o {doc}?",
        "qual {doc}?",
        "preciso do {doc} pra pagar {day}",
        "vou pagar {day}, me manda o {doc}",
        "não recebi o {doc}, manda de novo",
        "cadê o {doc}?",
        "tem como mandar o {doc} atualizado?",
    ],
    "negotiate": [
        "dá pra parcelar em {n}x?",
        "{hard}, dá pra parcelar?",
        "{hard}, consigo pagar só {amount}",
        "tem desconto pra pagar à vista?",
        "posso pagar {amount} por mês?",
        "faz por {amount} que eu quito",
        "consigo dar {amount} de entrada e parcelar o resto",
        "{hard}, não consigo pagar tudo",
        "quero fazer um acordo, {hard}",
        "se dividir em {n} vezes eu pago",
        "tira os juros que eu pago {day}",
    ],
    "dispute": [
        "não reconheço essa cobrança de {amount}",
        "o valor tá errado, era {amount}",
        "nunca fiz compra nenhuma com vocês",
        "isso não é meu, {pls2}",
        "cancelei isso {when}, não devo nada",
        "não vou pagar {doc} nenhum, isso não é meu",
        "essa cobrança de {amount} é indevida",
        "{who} nunca contratou isso",
        "isso é fraude, nunca assinei nada",
    ],
    "opt_out": [
        "para de mandar mensagem",
        "não quero mais receber {msg}",
        "parem de me mandar {msg}",
        "me tira dessa lista {pls}",
        "não me mande mais {msg}",
        "chega de {msg}",
        "não quero receber {msg} por whatsapp",
        "vou bloquear vocês, chega de {msg}",
    ],
    "talk_to_human": [
        "quero falar com {person}",
        "me passa pra {person} {pls}",
        "posso falar com {person}?",
        "tem {person} aí?",
        "{person} pode me ligar {day}?",
        "preciso falar com {person}",
        "me liga {day}",
    ],
    "wrong_person": [
        "não conheço nenhum(a) {name}",
        "não sou {name}",
        "aqui não tem nenhum {name}",
        "número errado, não sou {name}",
        "{name} não usa mais esse número",
        "esse número não é de {name}",
        "vcs tão procurando {name}? número errado",
        "não conheço {name}, engano",
    ],
    "other": [
        "{greet}",
        "{greet} {close}",
        "ok {close}",
        "{close}",
        "recebi {close}",
        "entendi, {close}",
    ],
}

WHEN = ["ontem", "hoje cedo", "semana passada", "dia 5", "sexta", "faz uns dias",
        "mês passado", "agora pouco", "segunda", "no dia do vencimento"]  # fmt: skip
DOCS = ["boleto", "pix", "chave pix", "código de barras", "link de pagamento", "2ª via",
        "segunda via", "qr code", "linha digitável", "boleto atualizado"]  # fmt: skip
PERSONS = ["um atendente", "uma pessoa", "alguém", "o gerente", "um humano",
           "a atendente", "o setor financeiro", "um responsável"]  # fmt: skip
# "para" → "pra" only where it is the preposition, never the verb of "para de mandar".
_PARA = r"\bpara (?=(o|a|os|as|mim|vc|você|eu|pagar|ele|ela) )"

FILL: dict[str, list[str]] = {
    "day": DAYS,
    "mean": MEANS,
    "amount": AMOUNTS,
    "name": NAMES,
    "who": WHO,
    "hard": HARDSHIP,
    "n": ["2", "3", "4", "5", "6", "10", "12"],
    "when": WHEN,
    "doc": DOCS,
    "pls": ["por favor", "pfv", "pf", "", "urgente", ""],
    "pls2": ["vou no procon", "nunca tive conta aí", "vcs erraram", "não devo nada"],
    "msg": ["mensagem", "msg", "mensagens", "cobrança", "lembrete", "essas mensagens"],
    "person": PERSONS,
    "greet": GREETINGS,
    "close": CLOSINGS,
}

ABBREVIATIONS = [
    (r"\bvocês\b", "vcs"), (r"\bvocê\b", "vc"), (r"\bporque\b", "pq"), (r"\bhoje\b", "hj"),
    (r"\btambém\b", "tb"), (r"\bmensagem\b", "msg"), (_PARA, "pra "), (r"\bnão\b", "n"),
    (r"\bestá\b", "ta"), (r"\bbeleza\b", "blz"), (r"\bpor favor\b", "pfv"), (r"\bquando\b", "qdo"),
    (r"\bobrigado\b", "obg"), (r"\bamanhã\b", "amn"), (r"\bque\b", "q"), (r"\bdepois\b", "dps"),
    (r"\bmuito\b", "mt"), (r"\bnada\b", "nd"), (r"\btudo\b", "td"), (r"\bcomprovante\b", "comprov"),
]  # fmt: skip
EMOJIS = ["🙏", "😊", "😡", "😤", "👍", "😭", "🤦‍♀️", "😅", "🙄", "✅", "💸", "😢", "🤝"]


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _typo(text: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 4:
        return text
    i = rng.choice(letters[1:-1])
    kind = rng.randrange(3)
    if kind == 0:  # dropped letter
        return text[:i] + text[i + 1 :]
    if kind == 1:  # doubled letter
        return text[:i] + text[i] + text[i:]
    return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]  # swapped pair


def phone_keyboard(text: str, rng: random.Random) -> str:
    """What a hurried thumb does to a sentence; each habit with its own probability."""
    if rng.random() < 0.5:
        text = _strip_accents(text)
    if rng.random() < 0.5:
        for pattern, short in ABBREVIATIONS:
            if rng.random() < 0.6:
                text = re.sub(pattern, short, text, flags=re.IGNORECASE)
    if rng.random() < 0.6:
        text = text.lower()
    if rng.random() < 0.3:
        text = re.sub(r"[.,!?]", "", text)
    if rng.random() < 0.3:
        text = _typo(text, rng)
    if rng.random() < 0.15:
        text = rng.choice(GREETINGS) + rng.choice([", ", " ", "! "]) + text
    if rng.random() < 0.15:
        text = text + rng.choice([" ", ", "]) + rng.choice(CLOSINGS)
    if rng.random() < 0.15:
        text = text + " " + rng.choice(EMOJIS) * rng.randint(1, 3)
    if rng.random() < 0.07:
        text = text.upper()
    if rng.random() < 0.05:
        text = text + rng.choice([" kkk", " rs", " kkkkk"])
    return re.sub(r"\s+", " ", text).strip()


def _fill(template: str, rng: random.Random) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(FILL[m.group(1)]), template)


def generate(seed: int = SEED, per_label: int = PER_LABEL) -> list[dict[str, str]]:
    """Every hand-written row as written and once through the keyboard, then templates
    until the label has `per_label` distinct rows."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    for label in sorted(HAND):
        seen: set[str] = set()

        def add(text: str, label: str = label, seen: set[str] = seen) -> None:
            key = text.casefold().strip()
            if key and key not in seen and len(seen) < per_label:
                seen.add(key)
                rows.append({"text": text, "label": label})

        for text in [*HAND[label], *LONG.get(label, [])]:
            add(text)
        for text in [*HAND[label], *LONG.get(label, [])]:
            add(phone_keyboard(text, rng))
        attempts = 0
        while len(seen) < per_label and attempts < per_label * 50:
            attempts += 1
            add(phone_keyboard(_fill(rng.choice(TEMPLATES[label]), rng), rng))
    return rows


def main() -> None:
    rows = generate()
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
